import * as pulumi from "@pulumi/pulumi";
import { ingressAliases } from "../../../components/ingress/ingress";
import { Host } from "../../../components/platform/host";
import { movedFromRoot } from "../../../components/platform/moves";
import { Platform } from "../../../components/platform/platform";
import { LocalCommand, localCommandProvider } from "../project/local-command";

/**
 * A miniature of the program's resource tree, with the program's names for a
 * blueprint prefixed `tm` and a server `web` (infra/platform.ts), and the same
 * shapes: a server with host commands, the Caddy ingress with its service and
 * container, the monitoring stack with a service that moved into it. Each
 * container or command is a LocalCommand whose create script appends its name
 * to a log, so the log tells what the engine created.
 *
 * step 1 is the tree before the move, everything at the stack's root; step 2
 * the tree now, under the platform and the server's host, with the aliases
 * the program gives (movedFromRoot, ingressAliases).
 */
export interface TreeOptions {
  readonly step: 1 | 2;
  /** false: the moved components without their aliases, as a program that forgot them. */
  readonly aliases: boolean;
  readonly logFile: string;
}

export const PREFIX = "tm";
export const SERVER_NAME = `${PREFIX}-web`;

/**
 * The type host commands had before, as SSHCommand keeps `command:remote:Command`
 * (components/remote/ssh-command.ts). A dynamic resource of its own here, so
 * that step 1 can register one under that type and step 2 take it over.
 */
export const PREVIOUS_COMMAND_TYPE = "pulumi-nodejs:dynamic/engine:PreviousCommand";

/** The host command type before LocalCommand, same provider: only the type token differs. */
class PreviousCommand extends pulumi.dynamic.Resource {
  constructor(name: string, logFile: string, opts: pulumi.CustomResourceOptions) {
    super(localCommandProvider, name, { ...commandArgs(name, logFile), stdout: undefined }, opts, "engine", "PreviousCommand");
  }
}

/** A component that registers nothing but its children, under the program's type token. */
class Component extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

/** The same inputs in both steps: the name goes to the log when, and only when, the engine creates it. */
function commandArgs(name: string, logFile: string) {
  return { create: `echo 'created ${name}' >> '${logFile}'`, delete: `echo 'deleted ${name}' >> '${logFile}'` };
}

export function registerTree({ step, aliases, logFile }: TreeOptions): void {
  const command = (name: string, opts: pulumi.CustomResourceOptions) => new LocalCommand(name, commandArgs(name, logFile), opts);
  let moved: (extra?: pulumi.Input<string | pulumi.Alias>[]) => pulumi.ComponentResourceOptions;
  if (step === 1) {
    moved = () => ({});
  } else {
    const platform = new Platform(PREFIX, { blueprint: "tree-move", environment: "test" });
    const host = new Host(`${SERVER_NAME}-host`, { server: "web" }, { parent: platform });
    moved = (extra) => ({ parent: host, ...(aliases ? { aliases: extra ?? [movedFromRoot()] } : {}) });
  }

  // The machine and its host commands: one plain, one that already answers to
  // its previous type (as every SSHCommand does), one that takes over a
  // command still held under that type while it moves.
  const server = new Component("infra:compute:Server", SERVER_NAME, moved());
  command(`${SERVER_NAME}-prepare`, { parent: server });
  command(`${SERVER_NAME}-setup`, { parent: server, aliases: [{ type: PREVIOUS_COMMAND_TYPE }] });
  if (step === 1) new PreviousCommand(`${SERVER_NAME}-install`, logFile, { parent: server });
  else command(`${SERVER_NAME}-install`, { parent: server, aliases: [{ type: PREVIOUS_COMMAND_TYPE }] });

  // The ingress: a Caddy component before, the one Ingress type now, aliased as the real Ingress class does.
  const ingressName = `${SERVER_NAME}-caddy`;
  const ingress =
    step === 1
      ? new Component("infra:ingress:Caddy", ingressName, {})
      : new Component("infra:ingress:Ingress", ingressName, moved(ingressAliases("caddy", [movedFromRoot()])));
  const ingressService = new Component("infra:container:Service", `${ingressName}-service`, { parent: ingress });
  command(`${ingressName}-service-container`, { parent: ingressService });

  // The monitoring stack, whose services answer to the root names they had
  // before it existed (components/monitoring/monitoring.ts).
  const monitoringName = `${SERVER_NAME}-monitoring`;
  const monitoring = new Component("infra:monitoring:Monitoring", monitoringName, moved());
  const grafana = new Component("infra:container:Service", `${monitoringName}-grafana`, {
    parent: monitoring,
    aliases: [{ name: `${SERVER_NAME}-grafana`, parent: pulumi.rootStackResource }],
  });
  command(`${monitoringName}-grafana-container`, { parent: grafana });
}
