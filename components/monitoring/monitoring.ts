import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../container/service";
import { alertNames } from "./alert-rules";
import type { MonitoringPlan } from "./observability";

export interface MonitoringArgs {
  readonly plan: MonitoringPlan;
  /**
   * The monitoring services of one host, in startup order. `after` holds the
   * services outside the stack they wait for; the ones inside are added here.
   */
  readonly services: readonly ServiceArgs[];
  /** The stack's secrets, for the files that carry credentials (Alertmanager's receivers). */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * The name a service was registered under before it moved into this
   * component; kept as an alias, so an update moves it instead of replacing
   * the container and its volumes.
   */
  readonly previousName?: (service: string) => string;
}

/**
 * The monitoring stack of one host: its containers, with the credential files
 * uploaded into them, and what it scrapes, probes and alerts on as outputs.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly services: Readonly<Record<string, Service>>;
  public readonly scraped: string[];
  public readonly probed: string[];
  public readonly alerts: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:monitoring:Monitoring", name, {}, opts);
    const problems: string[] = [];
    for (const file of args.plan.secretFiles) {
      if (!args.secrets[file.secret]) problems.push(`${file.service}: ${file.path} needs secret ${file.secret}, which is not loaded`);
    }
    const names = args.services.map((service) => service.spec.name);
    for (const service of args.services) {
      for (const dependency of service.spec.dependsOn) {
        const index = names.indexOf(dependency);
        if (index > names.indexOf(service.spec.name)) problems.push(`${service.spec.name} starts before ${dependency}, which it depends on`);
      }
    }
    if (problems.length > 0) throw new Error(`monitoring ${name}: ${problems.join("; ")}`);

    const services: Record<string, Service> = {};
    for (const service of args.services) {
      const spec = service.spec;
      const siblings = spec.dependsOn.map((dependency) => services[dependency]).filter((resource): resource is Service => resource !== undefined);
      const files = args.plan.secretFiles.filter((file) => file.service === spec.name);
      const previous = args.previousName?.(spec.name);
      services[spec.name] = new Service(
        `${name}-${spec.name}`,
        { ...service, after: [...(service.after ?? []), ...siblings] },
        {
          parent: this,
          ...(previous ? { aliases: [{ name: previous, parent: pulumi.rootStackResource }] } : {}),
          // Service uploads plain files only; a credential file is added to
          // the container here, as a secret, so it never shows in the plan or state.
          ...(files.length > 0
            ? { transformations: [secretUploads(files.map((file) => ({ file: file.path, content: pulumi.secret(args.secrets[file.secret]!) })))] }
            : {}),
        },
      );
    }
    this.services = services;
    this.scraped = args.plan.jobs.map((job) => `${job.job} ${job.kind === "endpoint" ? job.address : `(${job.exporter} exporter for ${job.service})`}`);
    this.probed = args.plan.probes.map((probe) => `${probe.job} ${probe.name}`);
    this.alerts = alertNames(args.plan.ruleGroups);
    this.registerOutputs({ scraped: this.scraped, probed: this.probed, alerts: this.alerts });
  }
}

function secretUploads(uploads: { file: string; content: pulumi.Output<string> }[]): pulumi.ResourceTransformation {
  return (resource) => {
    if (resource.type !== "docker:index/container:Container") return undefined;
    const existing = (resource.props.uploads ?? []) as unknown[];
    return { props: { ...resource.props, uploads: [...existing, ...uploads.map((upload) => ({ ...upload, executable: false }))] }, opts: resource.opts };
  };
}
