import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../components/backup/backup";
import { secretVariables } from "../components/backup/job";
import { withWalArchive } from "../components/backup/pitr";
import { Server } from "../components/compute/server";
import { Network } from "../components/container/network";
import { Service, type ServiceArgs } from "../components/container/service";
import { Monitoring } from "../components/monitoring/monitoring";
import { renderSecretTemplate, secretKeysOf, type EnvValue, type SecretFileSpec } from "../components/container/service-spec";
import { renderSecretContent } from "../components/container/secret-files";
import { Zone } from "../components/dns/zone";
import { Caddy } from "../components/ingress/caddy";
import { Nginx } from "../components/ingress/nginx";
import { Traefik } from "../components/ingress/traefik";
import { LoadBalancer } from "../components/compute/load-balancer";
import { PrivateNetwork } from "../components/network/private-network";
import { Firewall } from "../components/network/firewall";
import { OpsHost } from "../components/ops-host/ops-host";
import { Bucket } from "../components/storage/bucket";
import { blueprintNamed } from "./blueprints";
import type { LoadedConfig } from "./config/load";
import { behindCloudflare } from "./config/schema";
import { hostFirewallOf, planPlatform, startupOrder, type PlatformModel } from "./platform-model";
import { judgeEachResource, refuseModelViolations } from "./policy/enforce";

export interface DeployedPlatform {
  readonly model: PlatformModel;
  /** Stack outputs. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * The stack's platform model, planned from its config and blueprint, once
 * every rule the model can be judged by holds (infra/policy); it throws
 * before anything is registered. The offline plan calls it before Pulumi's stack starts, so a
 * refusal is one error and not a failed stack as well.
 */
export function checkedModel(loaded: LoadedConfig): PlatformModel {
  const model = planPlatform(loaded.config, blueprintNamed(loaded.config.blueprint));
  refuseModelViolations(model);
  return model;
}

/**
 * Registers a whole platform: per server its firewall and the host; the
 * private network and load balancer when the stack has them; the buckets and
 * each host's backup job; per server its Docker networks and containers in
 * startup order; then DNS for the routes (at the load balancer when there is
 * one). Everything is decided by planPlatform first, so a bad combination
 * fails before the first resource is registered.
 */
export function deployPlatform(loaded: LoadedConfig, model: PlatformModel = checkedModel(loaded)): DeployedPlatform {
  const { config, secrets } = loaded;
  const blueprint = blueprintNamed(config.blueprint);
  // Every resource is judged too, as it is registered (infra/policy).
  judgeEachResource(model);
  const prefix = blueprint.namePrefix;
  const labels = { "managed-by": "infra", environment: config.environment, blueprint: blueprint.name };
  const edgeProxied = behindCloudflare(config.dns);

  const addresses: Record<string, pulumi.Output<string>> = {};
  let ingressAddress: pulumi.Output<string> | undefined;
  const machines = new Map<string, Server>();

  for (const host of model.hosts) {
    const server = host.server;
    const name = `${prefix}-${server.name}`;
    const policy = { adminCidrs: config.adminCidrs, behindCloudflare: edgeProxied, sshPort: host.sshPort };
    // A Hetzner server is created with its cloud firewall attached, so the
    // firewall comes first; an existing host's UFW rules go on once the host
    // is prepared (the preparation installs ufw), so the server comes first.
    const cloudFirewall = server.provider === "hetzner" ? new Firewall(`${name}-firewall`, { exposed: host.exposed, policy, target: { kind: "hetzner" }, labels }) : undefined;
    const machine = new Server(name, {
      server,
      sshPrivateKey: secrets["infra:sshPrivateKey"]!,
      ...(server.provider === "hetzner" ? { hcloudToken: secrets["hcloud:token"]! } : {}),
      ...(cloudFirewall?.hetznerFirewallId ? { hetznerFirewallId: cloudFirewall.hetznerFirewallId, hostFirewall: hostFirewallOf(host) } : {}),
      protect: config.protect,
      labels,
      ...(config.registry ? { imageRegistry: config.registry } : {}),
    });
    if (!cloudFirewall) new Firewall(`${name}-firewall`, { exposed: host.exposed, policy, target: { kind: "ufw", connection: machine.connection, ready: machine.ready } });
    addresses[server.name] = machine.publicAddress;
    machines.set(server.name, machine);
    if (!ingressAddress && host.services.some((service) => service.role === "ingress")) ingressAddress = machine.publicAddress;
  }

  // Servers exist before the private network, which attaches each at its
  // fixed address; containers that listen there wait for their attachment.
  const privateNetwork = config.privateNetwork
    ? new PrivateNetwork(`${prefix}-private`, {
        ...config.privateNetwork,
        members: model.hosts.flatMap((host) =>
          host.server.provider === "hetzner" && host.server.privateIp ? [{ name: host.server.name, serverId: machines.get(host.server.name)!.hetznerServerId!, ip: host.server.privateIp }] : [],
        ),
        protect: config.protect,
        labels,
      })
    : undefined;
  if (model.loadBalancer && privateNetwork) {
    const balancer = model.loadBalancer;
    const loadBalancer = new LoadBalancer(`${prefix}-lb`, {
      type: balancer.config.type,
      location: balancer.config.location,
      subnetId: privateNetwork.subnetId,
      privateIp: balancer.config.privateIp,
      ports: balancer.ports,
      healthCheck: balancer.healthCheck ?? { port: 80, path: "/" },
      proxyProtocol: balancer.proxyProtocol,
      targets: balancer.targets.map((target) => ({ name: target, serverId: machines.get(target)!.hetznerServerId!, attachment: privateNetwork.attachments[target]! })),
      protect: config.protect,
      labels,
    });
    ingressAddress = loadBalancer.publicAddress;
  }

  const buckets: Record<string, pulumi.Output<string>> = {};
  const bucketResources = new Map<string, Bucket>();
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
      // Like the data volumes: protected, and kept when the stack itself is destroyed.
      { protect: config.protect, retainOnDelete: config.protect },
    );
    buckets[bucket.key] = resource.bucketName;
    bucketResources.set(bucket.key, resource);
  }

  // Each host's backup job is installed before its containers: a stateful
  // container that is replaced runs the job first, as this update defines it.
  const backups = new Map<string, Backup>();
  for (const host of model.hosts) {
    if (!host.backup) continue;
    const machine = machines.get(host.server.name)!;
    const variables = Object.fromEntries(Object.entries(secretVariables(host.services)).map(([variable, key]) => [variable, secrets[key]!]));
    const backup = new Backup(
      `${prefix}-${host.server.name}-backup`,
      {
        job: host.backup,
        connection: machine.connection,
        ready: machine.ready,
        region: config.storage.region,
        // In pull mode these stay with the ops host: the Backup component writes none of them to the server.
        resticPassword: secrets["infra:resticPassword"]!,
        accessKeyId: secrets["infra:storageAccessKeyId"]!,
        secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
        ...(secrets["infra:backupHeartbeatUrl"] ? { heartbeatUrl: secrets["infra:backupHeartbeatUrl"] } : {}),
        variables,
      },
      // The repository lives in the backups bucket; the host must be prepared first.
      { dependsOn: [machine, ...(bucketResources.has("backups") ? [bucketResources.get("backups")!] : [])] },
    );
    backups.set(host.server.name, backup);
  }

  // Seed 002's ops host: the VPN every server joins, the uptime checks, and the pull of the backups.
  let opsHostAddress: pulumi.Output<string> | undefined;
  if (model.opsHost) {
    const opsHost = new OpsHost(`${prefix}-${model.opsHost.server.name}`, {
      plan: model.opsHost,
      members: model.hosts.map((host) => ({ name: host.server.name, resourceName: `${prefix}-${host.server.name}`, connection: machines.get(host.server.name)!.connection, ready: machines.get(host.server.name)!.ready })),
      adminCidrs: config.adminCidrs,
      sshPrivateKey: secrets["infra:sshPrivateKey"]!,
      hcloudToken: secrets["hcloud:token"]!,
      protect: config.protect,
      labels,
      region: config.storage.region,
      resticPassword: secrets["infra:resticPassword"]!,
      accessKeyId: secrets["infra:storageAccessKeyId"]!,
      secretAccessKey: secrets["infra:storageSecretAccessKey"]!,
      ...(secrets["infra:backupHeartbeatUrl"] ? { heartbeatUrl: secrets["infra:backupHeartbeatUrl"] } : {}),
    }, { dependsOn: [...backups.values(), ...(bucketResources.has("backups") ? [bucketResources.get("backups")!] : [])] });
    opsHostAddress = opsHost.publicAddress;
  }

  // A server whose services others reach over the private network comes
  // first, so each forwarder can wait for the service it forwards to.
  const started = new Map<string, pulumi.Resource>();
  const releaseIds = new Map(model.releases.flatMap((plan) => (plan.releaseId === undefined ? [] : [[plan.service, plan.releaseId] as const])));
  const hostOrder = [...model.hosts].sort((a, b) => a.links.length - b.links.length);
  for (const host of hostOrder) {
    const server = host.server;
    const name = `${prefix}-${server.name}`;
    const machine = machines.get(server.name)!;
    const attachment = privateNetwork?.attachments[server.name];
    const networkNames: Record<string, pulumi.Output<string>> = {};
    for (const network of host.networks) {
      const resource = new Network(`${name}-${network.key}`, { spec: network, networkName: `${prefix}-${network.key}`, provider: machine.dockerProvider });
      networkNames[network.key] = resource.networkName;
    }

    const local = new Map<string, pulumi.Resource>();
    // The monitoring stack's containers are registered by its own component.
    const monitored = new Set(model.spec.monitoring?.services ?? []);
    const monitoringArgs: ServiceArgs[] = [];
    for (const spec of startupOrder(host.services)) {
      const link = host.links.find((candidate) => candidate.service === spec.name);
      const remote = link ? started.get(`${link.server}/${link.service}`) : undefined;
      const args = {
        // With PITR on, PostgreSQL archives WAL into a volume the backup job ships (B6).
        spec: withWalArchive(spec, config.backup.pitr),
        containerName: model.containerNames[spec.name] ?? `${prefix}-${spec.name}`,
        provider: machine.dockerProvider,
        networks: networkNames,
        env: resolveEnv(spec.env, secrets),
        // Secrets the image reads from files (C15), written on the host by the service's -secrets command.
        ...(spec.secretFiles.length > 0 ? { secretFiles: { connection: machine.connection, contents: resolveSecretFiles(spec.secretFiles, secrets) } } : {}),
        after: [...spec.dependsOn.map((dependency) => local.get(dependency)!).filter(Boolean), ...(remote ? [remote] : []), ...(attachment ? [attachment] : [])],
        protectVolumes: config.protect,
        ...(config.registry ? { imageRegistry: config.registry } : {}),
        healthGate: { connection: machine.connection },
        hostReady: machine.ready,
        ...(releaseIds.has(spec.name) ? { releaseId: releaseIds.get(spec.name)! } : {}),
        // The host's backup job runs before a container holding backed-up data is replaced.
        ...(spec.backup && backups.has(server.name) ? { backupBeforeReplace: { connection: machine.connection, installed: backups.get(server.name)!.installed } } : {}),
      };
      if (monitored.has(spec.name)) {
        monitoringArgs.push(args);
        continue;
      }
      const routes = model.spec.routes.map((route) => ({ hostname: `${route.subdomain}.${config.domain}`, service: route.service, port: route.port }));
      const ingressArgs = { ...args, routes, knownServices: host.services.map((service) => service.name) };
      const kind = model.spec.ingress ?? "caddy";
      const resource =
        spec.role !== "ingress" || spec.name !== kind
          ? new Service(`${name}-${spec.name}`, args)
          : kind === "nginx"
            ? new Nginx(`${name}-${spec.name}`, ingressArgs)
            : kind === "traefik"
              ? new Traefik(`${name}-${spec.name}`, ingressArgs)
              : new Caddy(`${name}-${spec.name}`, ingressArgs);
      local.set(spec.name, resource);
      if (!link) started.set(`${server.name}/${spec.name}`, resource);
    }
    if (model.spec.monitoring && monitoringArgs.length > 0) {
      const monitoring = new Monitoring(`${name}-monitoring`, {
        plan: model.spec.monitoring,
        services: monitoringArgs,
        secrets,
        previousName: (service) => `${name}-${service}`,
      });
      for (const [service, resource] of Object.entries(monitoring.services)) {
        local.set(service, resource);
        started.set(`${server.name}/${service}`, resource);
      }
    }
  }

  const dns = config.dns;
  if (model.hostnames.length > 0 && ingressAddress && dns.provider === "cloudflare") {
    new Zone(`${prefix}-dns`, {
      zoneId: dns.zoneId,
      security: { hsts: dns.hsts },
      records: model.spec.routes.map((route) => ({ key: route.subdomain, name: `${route.subdomain}.${config.domain}`, proxied: dns.proxied, ...(dns.proxied ? {} : { unproxiedReason: "infra:dns.proxied is false for this stack" }) })),
      target: ingressAddress,
    });
  }

  return {
    model,
    outputs: {
      blueprint: blueprint.name,
      environment: config.environment,
      serverAddresses: addresses,
      // Where the DNS records point: the ingress server, or the load balancer in front of it.
      ...(ingressAddress ? { ingressAddress } : {}),
      urls: model.hostnames.map((hostname) => `https://${hostname}`),
      ...(opsHostAddress ? { opsHostAddress } : {}),
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
        pulumi.all(keys.map((key) => secrets[key]!)).apply((values) => renderSecretTemplate(value.secretTemplate, Object.fromEntries(keys.map((key, index) => [key, values[index]!])))),
      );
    }
  }
  return resolved;
}

/** Each secret file's content by name, its secrets filled in; the result stays secret. */
export function resolveSecretFiles(files: readonly SecretFileSpec[], secrets: Readonly<Record<string, pulumi.Output<string>>>): Record<string, pulumi.Output<string>> {
  const resolved: Record<string, pulumi.Output<string>> = {};
  for (const file of files) {
    const keys = secretKeysOf(file.content);
    const missing = keys.filter((key) => !secrets[key]);
    if (missing.length > 0) throw new Error(`secret file ${file.name} needs secret ${missing.join(", ")}, which is not loaded`);
    resolved[file.name] = pulumi.secret(pulumi.all(keys.map((key) => secrets[key]!)).apply((values) => renderSecretContent(file.content, Object.fromEntries(keys.map((key, index) => [key, values[index]!])))));
  }
  return resolved;
}
