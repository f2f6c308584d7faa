import type { ServiceSpec } from "../../components/container/service-spec";
import { reachedAdminUIs, type IngressRoute } from "../../components/monitoring/admin-access";
import type { MonitoringDesign } from "../../components/monitoring/design";
import { placementOf, type MonitoredServer, type ServerPlacement } from "../../components/monitoring/placement";
import { portsOf } from "../../components/monitoring/ports";
import { withMonitoringDefaults, type MonitoringInput } from "../../components/monitoring/settings";
import type { StackBuild } from "../../components/monitoring/stack-services";
import { PROMETHEUS_DESIGN, syntheticServices } from "./support";

/** Two servers: the stack at home, the platform's own services on the peer; what runs on every server (placement host) on both. */
export const HOME: MonitoredServer = { name: "home", privateIp: "10.0.1.2", configPath: "infra:servers[0]" };
export const PEER: MonitoredServer = { name: "peer", privateIp: "10.0.1.3", configPath: "infra:servers[1]" };
export const SPLIT: ServerPlacement = {
  home: HOME,
  serversOf: (service) => (service.placement === "host" ? [HOME, PEER] : service.role === "monitoring" ? [HOME] : [PEER]),
};

/** What a step of the stack is built from: the synthetic platform on one server, `main`, unless told otherwise. */
export function stackBuild(
  options: {
    design?: MonitoringDesign;
    settings?: MonitoringInput;
    routes?: readonly IngressRoute[];
    others?: readonly ServiceSpec[];
    placement?: ServerPlacement;
  } = {},
): StackBuild {
  const design = options.design ?? PROMETHEUS_DESIGN;
  const settings = withMonitoringDefaults(options.settings);
  return {
    design,
    settings,
    environment: "test",
    ports: portsOf(design),
    uis: reachedAdminUIs({ design, settings, routes: options.routes ?? [], domain: "example.com" }),
    others: options.others ?? syntheticServices(),
    placement: options.placement ?? placementOf(undefined, "main"),
  };
}

export const named = (services: readonly ServiceSpec[], name: string): ServiceSpec => {
  const found = services.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no service ${name} among ${services.map((service) => service.name).join(", ")}`);
  return found;
};
