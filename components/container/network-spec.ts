/** A Docker network as plain data. */
export interface NetworkSpec {
  /** Key the services refer to, e.g. `backend`. */
  readonly key: string;
  readonly subnet: string;
  /** Internal networks have no route out of the host. */
  readonly internal: boolean;
  readonly purpose: string;
}
