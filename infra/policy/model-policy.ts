import { behindCloudflare, PLATFORM_SECRETS } from "../config/schema";
import { zoneSettings } from "../../components/dns/zone-settings";
import { containerNameOf, hostFirewallOf, type PlatformModel } from "../platform-model";
import { containerFindings, viewOfSpec } from "./container-rules";
import { dockerAPIFindings } from "./docker-api-rules";
import { recordFindings, zoneFindings } from "./edge-rules";
import { hostConfigurationOf } from "./host-configuration";
import { hostFindings } from "./host-rules";
import { firewallFindings, inboundOf, loadBalancerFindings } from "./network-rules";
import type { Finding, PolicyReport } from "./report";
import { routeFindings } from "./route-rules";
import { dataApiExposureFindings, isDataApi, superuserFindings } from "./data-api-rules";
import { exposureFindings, type RoutedPort } from "./exposure-rules";
import { secretDeliveryFindings } from "./secret-rules";
import { clientEncryptionFindings, expiryFindings, platformRetentionWindowDays, S3_NOT_APPLICABLE } from "./storage-rules";
import { applyWaivers, waiverIndex, waiverProblems, type WaiverIndex } from "./waivers";

/**
 * Where each rule is evaluated, and why.
 *
 * On the PlatformModel (this file), inside deployPlatform before anything is
 * registered: every rule whose subject the model decides. Containers are
 * judged on containerSettings(spec), the exact values the Service component
 * registers; hosts on the user-data, preparation and UFW scripts rendered by
 * the same functions the components call, parsed back; firewalls on the
 * model's rules; the zone on zoneSettings; buckets on the storage config.
 * Being pure data, this runs identically in preview, up and the offline plan,
 * and fails the run before the first resource.
 *
 * On the registered graph (graph-policy.ts): C1, C2, C4, C12 and C13, which
 * no ServiceSpec field can break but any component could by registering a
 * docker.Container directly; S1/S2, since privacy and versioning are enforced
 * by the bucket provider rather than described in the model; and the rest
 * again on the inputs as registered, so a component that drifts from the
 * pure functions is caught too. It runs as a stack transformation on every
 * resource (preview and up included) and over the whole recorded graph in
 * the offline plan.
 */
export function containerResource(model: PlatformModel, service: string): string {
  return `container ${containerNameOf(model, service)}`;
}

export function modelWaivers(model: PlatformModel): WaiverIndex {
  return waiverIndex(model.hosts.flatMap((host) => host.services.map((spec) => ({ resource: containerResource(model, spec.name), spec }))));
}

/** The reverse proxy serving the routes: the blueprint's, Caddy when it names none. */
export function ingressProxy(model: PlatformModel): PlatformModel["ingress"] {
  return model.ingress;
}

export function routedNames(model: PlatformModel): RoutedPort[] {
  return model.routes.map((route) => ({ hostname: route.hostname, service: route.service, port: route.port }));
}

/**
 * E1-E3 on the ingress's configuration and E4 on every data API: what a
 * public route lets anyone reach without a password, and which database
 * role a data API acts as. `ingressFiles` is what the ingress container
 * was given (the model's files, or a registered container's uploads).
 */
export function exposureOf(model: PlatformModel, ingressFiles: readonly { path: string; content: string }[]): Finding[] {
  const services = model.spec.services;
  const routes = model.hostnames.length > 0 ? routedNames(model) : [];
  return [
    ...exposureFindings(routes, services, ingressProxy(model), ingressFiles),
    ...dataApiExposureFindings(routes, services, ingressProxy(model), ingressFiles, (service) => containerResource(model, service)),
    ...services.filter(isDataApi).flatMap((api) => superuserFindings(api, services, containerResource(model, api.name))),
  ];
}

/**
 * Whether the stack is held to prod's rules (F4 protection, CF3 HSTS, CF4
 * Cloudflare in front): every stack that does not declare itself disposable,
 * whatever its name or environment label.
 */
export function isProduction(model: PlatformModel): boolean {
  return !model.config.disposable;
}

export function modelFindings(model: PlatformModel): Finding[] {
  const { config, blueprint } = model;
  const prefix = blueprint.namePrefix;
  const findings: Finding[] = [];
  for (const host of model.hosts) {
    const name = host.resourceName;
    for (const spec of host.services) findings.push(...containerFindings(viewOfSpec(spec, containerNameOf(model, spec.name))));
    findings.push(...dockerAPIFindings(host, (service) => containerResource(model, service)));
    for (const spec of host.services) findings.push(...secretDeliveryFindings(spec, containerResource(model, spec.name)));
    const ssh = { adminCidrs: config.adminCidrs, sshPort: host.sshPort };
    findings.push(
      ...firewallFindings(host.firewall.map(inboundOf), { ...ssh, resource: `firewall ${name}-firewall`, behindCloudflare: behindCloudflare(config.dns) }),
    );
    if (isProduction(model) && !config.protect)
      findings.push({
        rule: "F4",
        resource: `server ${name}`,
        message: "a server of a stack that is not disposable without delete and rebuild protection (infra:protect is false)",
      });
    findings.push(...hostFindings(hostConfigurationOf(host.server, hostFirewallOf(host), `host ${name}`), ssh));
  }
  if (model.loadBalancer)
    findings.push(...loadBalancerFindings(model.loadBalancer, { resource: `load balancer ${prefix}-lb`, behindCloudflare: behindCloudflare(config.dns) }));
  if (model.hostnames.length > 0) {
    // Every server running the ingress serves the same names from the same configuration.
    const ingress = model.spec.services.find((service) => service.role === "ingress" && service.name === ingressProxy(model));
    findings.push(...routeFindings(routedNames(model), model.spec.services, ingressProxy(model), ingress?.files ?? []));
    const dns = config.dns;
    if (dns.provider === "cloudflare") {
      const settings = new Map(zoneSettings({ hsts: dns.hsts }).map((setting) => [setting.settingId, setting.value]));
      findings.push(...zoneFindings(`zone ${prefix}-dns`, settings, isProduction(model)));
      for (const route of model.spec.routes) findings.push(...recordFindings(`record ${prefix}-dns-${route.subdomain}`, { proxied: dns.proxied }));
    } else if (isProduction(model)) {
      // Nothing proxies or shields prod's web names when the program manages no DNS.
      findings.push({
        rule: "CF4",
        resource: `zone ${prefix}-dns`,
        message:
          "prod's web names are not behind Cloudflare: infra:dns is none, so no record is proxied; give prod its Cloudflare zone in infra:dns { zoneId, proxied: true, hsts: true }",
      });
    }
  }
  const ingress = model.spec.services.find((service) => service.role === "ingress" && service.name === ingressProxy(model));
  findings.push(...exposureOf(model, ingress?.files ?? []));
  const window = platformRetentionWindowDays(
    (config as { backup?: { retention?: { daily?: number } } }).backup,
    model.hosts.map((host) => host.backup),
  );
  const secrets = [...PLATFORM_SECRETS, ...blueprint.secrets].map((secret) => secret.key);
  for (const bucket of model.buckets) {
    const resource = `bucket ${bucket.resourceName}`;
    findings.push(...expiryFindings(resource, config.storage.noncurrentVersionExpiryDays, window));
    if (bucket.key === "backups" || /restic/i.test(bucket.purpose)) findings.push(...clientEncryptionFindings(resource, secrets));
  }
  return findings;
}

/** The model-level report: violations after waivers, the waivers used, and problems with the waivers themselves. */
export function evaluateModel(model: PlatformModel): PolicyReport {
  const findings = modelFindings(model);
  const index = modelWaivers(model);
  const { violations, waivers } = applyWaivers(findings, index);
  return { violations: [...waiverProblems(index, findings), ...violations], waivers, notApplicable: S3_NOT_APPLICABLE };
}
