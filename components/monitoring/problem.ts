/**
 * Something the monitoring stack cannot be built as asked, with the setting
 * that causes it: a stack config key (`infra:servers[1].roles`) or the
 * blueprint whose design it is (`blueprint vpai`). The platform model
 * reports it with every other problem of the stack, in one error (V1).
 */
export interface MonitoringProblem {
  readonly path: string;
  readonly message: string;
}
