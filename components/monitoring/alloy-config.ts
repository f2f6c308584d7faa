import { DOCKER_API_URL } from "../container/docker-api-proxy-spec";
import { secretFileTarget } from "../container/secret-files";
import type { ExporterKind } from "./exporter-spec";
import { PROBE_JOBS, type Probe, type ScrapeJob } from "./targets";

/**
 * Grafana Alloy's configuration for seed 002's design: container logs to
 * Loki, the exporters as Alloy's built-in components, every scrape job, and
 * remote_write to the metrics store. It is rendered from the same ScrapeJob
 * and Probe lists as Prometheus's scrape config.
 */

/** Where the host's /proc, /sys and / appear inside the Alloy container (read-only binds). */
export const HOST_MOUNTS = { proc: "/host/proc", sys: "/host/sys", root: "/host/root" } as const;
export const ALLOY_PORT = 12345;
export const BLACKBOX_CONFIG_PATH = "/etc/alloy/blackbox.yml";

/**
 * The secret files the built-in exporters read their credentials from
 * (C15): the PostgreSQL connection URL and Redis's password, mounted into
 * the Alloy container under /run/secrets and read with local.file, whose
 * content Alloy keeps as a secret.
 */
export const EXPORTER_SECRET_FILES: Readonly<Record<"postgres" | "redis", string>> = {
  postgres: "alloy-postgres-dsn",
  redis: "alloy-redis-password",
};

/** Exporters Alloy has built in; a service watched by another kind (nginx's) needs the exporters design. */
const ALLOY_EXPORTERS: readonly string[] = ["node", "cadvisor", "postgres", "redis"];

/** Whether Alloy can scrape `job`: a service's own endpoint, or an exporter it has built in. */
export function runsInAlloy(job: Pick<ScrapeJob, "kind" | "exporter">): boolean {
  return job.kind === "endpoint" || ALLOY_EXPORTERS.includes(job.exporter ?? "");
}

/** Services whose exporter Alloy does not have. */
export function alloyExporterProblems(services: readonly { readonly name: string; readonly exporter?: { readonly kind: ExporterKind } }[]): string[] {
  return services
    .filter((service) => service.exporter && !ALLOY_EXPORTERS.includes(service.exporter.kind))
    .map((service) => `Alloy has no ${service.exporter!.kind} exporter; ${service.name} needs the exporters design`);
}

export interface AlloyConfigInput {
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  readonly scrapeIntervalSeconds: number;
  /** The `instance` label of the host-level series (node, cAdvisor). */
  readonly hostname: string;
  readonly lokiPushURL: string;
  readonly remoteWriteURL: string;
  /** Directory node-exporter's textfile collector reads on the host (the backup job writes there). */
  readonly textfileDirectory: string;
  /** Container names the logs and cAdvisor keep; others on the host are ignored. */
  readonly containerPattern: string;
}

export function alloyConfig(input: AlloyConfigInput): string {
  const blocks: string[] = [];
  const interval = `${input.scrapeIntervalSeconds}s`;
  const write = "[prometheus.remote_write.store.receiver]";

  blocks.push(
    block("logging", "", [attr("level", str("warn"))]),
    block("discovery.docker", "containers", [attr("host", str(DOCKER_API_URL))]),
    block("discovery.relabel", "logs", [
      attr("targets", "discovery.docker.containers.targets"),
      block("rule", "", [
        attr("source_labels", list([str("__meta_docker_container_name")])),
        attr("regex", str(`/(${input.containerPattern})`)),
        attr("action", str("keep")),
      ]),
      block("rule", "", [
        attr("source_labels", list([str("__meta_docker_container_name")])),
        attr("regex", str("/(.*)")),
        attr("target_label", str("container")),
      ]),
      block("rule", "", [attr("source_labels", list([str("__meta_docker_container_label_infra_service")])), attr("target_label", str("service"))]),
    ]),
    block("loki.source.docker", "containers", [
      attr("host", str(DOCKER_API_URL)),
      attr("targets", "discovery.relabel.logs.output"),
      attr("forward_to", "[loki.write.local.receiver]"),
    ]),
    block("loki.write", "local", [block("endpoint", "", [attr("url", str(input.lokiPushURL))])]),
  );

  for (const job of input.jobs) {
    if (job.kind === "endpoint") {
      blocks.push(
        block("prometheus.scrape", label(job.job), [
          attr("targets", list([map({ __address__: job.address, __metrics_path__: job.metricsPath, job: job.job, instance: job.service })])),
          attr("scrape_interval", str(interval)),
          attr("forward_to", write),
        ]),
      );
      continue;
    }
    const exporter = exporterBlock(job, input);
    blocks.push(exporter.block);
    blocks.push(
      block("discovery.relabel", label(job.job), [
        attr("targets", `${exporter.component}.targets`),
        block("rule", "", [attr("target_label", str("job")), attr("replacement", str(job.job))]),
        block("rule", "", [attr("target_label", str("instance")), attr("replacement", str(job.service === "host" ? input.hostname : job.service))]),
      ]),
      block("prometheus.scrape", label(job.job), [
        attr("targets", `discovery.relabel.${label(job.job)}.output`),
        attr("scrape_interval", str(interval)),
        attr("forward_to", write),
      ]),
    );
  }

  for (const kind of PROBE_JOBS) {
    const probes = input.probes.filter((probe) => probe.job === kind);
    if (probes.length === 0) continue;
    blocks.push(
      block("prometheus.exporter.blackbox", kind, [
        attr("config_file", str(BLACKBOX_CONFIG_PATH)),
        ...probes.map((probe) => block("target", "", [attr("name", str(probe.name)), attr("address", str(probe.target)), attr("module", str(probe.module))])),
      ]),
      block("discovery.relabel", `probe_${kind}`, [
        attr("targets", `prometheus.exporter.blackbox.${kind}.targets`),
        // Alloy labels each probe `job="<exporter job>/<target name>"`: the name
        // becomes the instance before the job is set to the probe kind.
        block("rule", "", [attr("source_labels", list([str("job")])), attr("regex", str(".*/([^/]+)")), attr("target_label", str("instance"))]),
        block("rule", "", [attr("target_label", str("job")), attr("replacement", str(kind))]),
      ]),
      block("prometheus.scrape", `probe_${kind}`, [
        attr("targets", `discovery.relabel.probe_${kind}.output`),
        attr("scrape_interval", str(interval)),
        attr("forward_to", write),
      ]),
    );
  }

  blocks.push(block("prometheus.remote_write", "store", [block("endpoint", "", [attr("url", str(input.remoteWriteURL))])]));
  return `// Generated by components/monitoring/alloy-config.ts from the platform's services.\n\n${blocks.join("\n\n")}\n`;
}

function exporterBlock(job: ScrapeJob, input: AlloyConfigInput): { component: string; block: string } {
  const kind = job.exporter as ExporterKind | "node" | "cadvisor";
  const name = label(job.job);
  switch (kind) {
    case "node":
      return {
        component: `prometheus.exporter.unix.${name}`,
        block: block("prometheus.exporter.unix", name, [
          attr("procfs_path", str(HOST_MOUNTS.proc)),
          attr("sysfs_path", str(HOST_MOUNTS.sys)),
          attr("rootfs_path", str(HOST_MOUNTS.root)),
          block("textfile", "", [attr("directory", str(`${HOST_MOUNTS.root}${input.textfileDirectory}`))]),
        ]),
      };
    case "cadvisor":
      return {
        component: `prometheus.exporter.cadvisor.${name}`,
        block: block("prometheus.exporter.cadvisor", name, [
          attr("docker_host", str(DOCKER_API_URL)),
          attr("docker_only", "true"),
          // Per-container disk usage would need Docker's whole data directory.
          attr(
            "disabled_metrics",
            list(["disk", "diskIO", "tcp", "udp", "percpu", "sched", "process", "hugetlb", "referenced_memory", "cpu_topology", "resctrl"].map(str)),
          ),
        ]),
      };
    case "postgres":
      return {
        component: `prometheus.exporter.postgres.${name}`,
        block: [
          secretFileBlock(name, EXPORTER_SECRET_FILES.postgres),
          block("prometheus.exporter.postgres", name, [attr("data_source_names", list([`local.file.${name}.content`]))]),
        ].join("\n\n"),
      };
    case "redis":
      return {
        component: `prometheus.exporter.redis.${name}`,
        block: [
          secretFileBlock(name, EXPORTER_SECRET_FILES.redis),
          block("prometheus.exporter.redis", name, [attr("redis_addr", str(job.address)), attr("redis_password", `local.file.${name}.content`)]),
        ].join("\n\n"),
      };
    case "nginx":
      throw new Error(`Alloy has no nginx exporter; ${job.service} needs the exporters design`);
  }
}

/** A secret file's content as an Alloy secret. */
function secretFileBlock(blockLabel: string, file: string): string {
  return block("local.file", blockLabel, [attr("filename", str(secretFileTarget({ name: file }))), attr("is_secret", "true")]);
}

function block(name: string, blockLabel: string, body: string[]): string {
  const header = blockLabel ? `${name} ${str(blockLabel)} {` : `${name} {`;
  return [header, ...body.flatMap((line) => line.split("\n")).map((line) => `  ${line}`), "}"].join("\n");
}

function attr(name: string, value: string): string {
  return `${name} = ${value}`;
}

function str(value: string): string {
  return JSON.stringify(value);
}

function list(items: string[]): string {
  return `[${items.join(", ")}]`;
}

function map(fields: Record<string, string>): string {
  return `{${Object.entries(fields)
    .map(([key, value]) => `${str(key)} = ${str(value)}`)
    .join(", ")}}`;
}

/** Alloy component labels are identifiers: letters, digits and underscores. */
function label(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, "_");
}
