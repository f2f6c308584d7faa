import * as pulumi from "@pulumi/pulumi";
import { Server } from "../components/compute/server";
import { Network } from "../components/container/network";
import { Service } from "../components/container/service";
import { secretKeysOf, type EnvValue } from "../components/container/service-spec";
import { Zone } from "../components/dns/zone";
import { Caddy } from "../components/ingress/caddy";
import { Firewall } from "../components/network/firewall";
import { Bucket } from "../components/storage/bucket";
import { blueprintNamed } from "./blueprints";
import type { LoadedConfig } from "./config/load";
import { planPlatform, startupOrder, type PlatformModel } from "./platform-model";

export interface DeployedPlatform {
  readonly model: PlatformModel;
  /** Stack outputs. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * Registers a whole platform: per server its firewall, the host, its Docker
 * networks and containers in startup order; then DNS for the routes and the
 * buckets. Everything is decided by planPlatform first, so a bad combination
 * fails before the first resource is registered.
 */
export function deployPlatform(loaded: LoadedConfig): DeployedPlatform {
  const { config, secrets } = loaded;
  const blueprint = blueprintNamed(config.blueprint);
  const model = planPlatform(config, blueprint);
  const prefix = blueprint.namePrefix;
  const labels = { "managed-by": "infra", environment: config.environment, blueprint: blueprint.name };
  const behindCloudflare = config.dns.proxied;

  const addresses: Record<string, pulumi.Output<string>> = {};
  let ingressAddress: pulumi.Output<string> | undefined;

  for (const host of model.hosts) {
    const server = host.server;
    const name = `${prefix}-${server.name}`;
    const policy = { adminCidrs: config.adminCidrs, behindCloudflare };
    const firewall =
      server.provider === "hetzner"
        ? new Firewall(`${name}-firewall`, { exposed: host.exposed, policy, target: { kind: "hetzner" }, labels })
        : new Firewall(`${name}-firewall`, {
            exposed: host.exposed,
            policy,
            target: { kind: "ufw", connection: { host: server.address, port: server.sshPort, user: server.sshUser, privateKey: secrets["infra:sshPrivateKey"]! } },
          });
    const machine = new Server(name, {
      server,
      sshPrivateKey: secrets["infra:sshPrivateKey"]!,
      ...(firewall.hetznerFirewallId ? { hetznerFirewallId: firewall.hetznerFirewallId } : {}),
      protect: config.protect,
      labels,
    });
    addresses[server.name] = machine.publicAddress;
    if (host.services.some((service) => service.role === "ingress")) ingressAddress = machine.publicAddress;

    const networkNames: Record<string, pulumi.Output<string>> = {};
    for (const network of host.networks) {
      const resource = new Network(`${name}-${network.key}`, { spec: network, networkName: `${prefix}-${network.key}`, provider: machine.dockerProvider });
      networkNames[network.key] = resource.networkName;
    }

    const started = new Map<string, pulumi.Resource>();
    for (const spec of startupOrder(host.services)) {
      const args = {
        spec,
        containerName: `${prefix}-${spec.name}`,
        provider: machine.dockerProvider,
        networks: networkNames,
        env: resolveEnv(spec.env, secrets),
        after: spec.dependsOn.map((dependency) => started.get(dependency)!).filter(Boolean),
        protectVolumes: config.protect,
      };
      const resource =
        spec.role === "ingress"
          ? new Caddy(`${name}-${spec.name}`, {
              ...args,
              routes: model.spec.routes.map((route) => ({ hostname: `${route.subdomain}.${config.domain}`, service: route.service, port: route.port })),
              knownServices: host.services.map((service) => service.name),
            })
          : new Service(`${name}-${spec.name}`, args);
      started.set(spec.name, resource);
    }
  }

  if (model.hostnames.length > 0 && ingressAddress) {
    new Zone(`${prefix}-dns`, {
      zoneId: config.dns.zoneId,
      security: { hsts: config.dns.hsts },
      records: model.spec.routes.map((route) => ({ key: route.subdomain, name: `${route.subdomain}.${config.domain}`, proxied: config.dns.proxied, ...(config.dns.proxied ? {} : { unproxiedReason: "infra:dns.proxied is false for this stack" }) })),
      target: ingressAddress,
    });
  }

  const buckets: Record<string, pulumi.Output<string>> = {};
  for (const bucket of model.spec.buckets) {
    const resource = new Bucket(
      `${prefix}-${bucket.key}`,
      {
        bucketName: `${config.storage.bucketPrefix}-${bucket.key}`,
        connection: {
          endpoint: config.storage.endpoint,
          region: config.storage.region,
          accessKeyId: secrets["infra:storageAccessKeyId"]!,
          secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
          forcePathStyle: config.storage.forcePathStyle,
        },
        noncurrentVersionExpiryDays: config.storage.noncurrentVersionExpiryDays,
      },
      { protect: config.protect },
    );
    buckets[bucket.key] = resource.bucketName;
  }

  return {
    model,
    outputs: {
      blueprint: blueprint.name,
      environment: config.environment,
      serverAddresses: addresses,
      urls: model.hostnames.map((hostname) => `https://${hostname}`),
      buckets,
    },
  };
}

/** Replaces secret references with the stack's secret outputs; the result stays secret. */
export function resolveEnv(env: Readonly<Record<string, EnvValue>>, secrets: Readonly<Record<string, pulumi.Output<string>>>): Record<string, pulumi.Input<string>> {
  const resolved: Record<string, pulumi.Input<string>> = {};
  for (const [variable, value] of Object.entries(env)) {
    if (typeof value === "string") {
      resolved[variable] = value;
      continue;
    }
    const keys = secretKeysOf(value);
    const missing = keys.filter((key) => !secrets[key]);
    if (missing.length > 0) throw new Error(`${variable} needs secret ${missing.join(", ")}, which is not loaded`);
    if ("secret" in value) {
      resolved[variable] = secrets[value.secret]!;
    } else {
      resolved[variable] = pulumi.secret(
        pulumi.all(keys.map((key) => secrets[key]!)).apply((values) => keys.reduce((text, key, index) => text.split(`{{${key}}}`).join(values[index]!), value.secretTemplate)),
      );
    }
  }
  return resolved;
}
