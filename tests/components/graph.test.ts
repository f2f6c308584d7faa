import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { contentHash } from "../../components/compute/content-hash";
import { FIREWALL_SCRIPT_PATH, hostPrepareScript } from "../../components/compute/host-setup";
import { Server } from "../../components/compute/server";
import type { ExistingServerConfig, HetznerServerConfig } from "../../components/compute/server-spec";
import { Network } from "../../components/container/network";
import { Service } from "../../components/container/service";
import { healthcheck, service } from "../../components/container/service-spec";
import { Zone } from "../../components/dns/zone";
import { Ingress } from "../../components/ingress/ingress";
import { liveFilesInstalled } from "../../components/container/live-config";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { Firewall } from "../../components/network/firewall";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { sshArguments } from "../../components/remote/ssh-arguments";
import { knownHostsPath } from "../../components/remote/known-hosts-file";
import { MOCK_HOST_PUBLIC_KEY, type GraphRun } from "../../tools/plan/mock-run";
import { graphOf, named, ofType, only } from "../support/graph";
import { TEST_HOST_KEY } from "../support/stack-config";

const hetzner: HetznerServerConfig = {
  provider: "hetzner",
  name: "pre",
  roles: ["ingress", "app", "data", "monitoring"],
  sshUser: "deploy",
  serverType: "cx23",
  location: "fsn1",
  image: "ubuntu-24.04",
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL admin@infra",
  volumeGb: 20,
};
const existing: ExistingServerConfig = {
  provider: "existing",
  name: "vps",
  roles: ["ingress", "app", "data", "monitoring"],
  sshUser: "deploy",
  address: "203.0.113.20",
  sshPort: 2222,
  hostKey: TEST_HOST_KEY,
  memoryMb: 8192,
  monthlyCostEur: 10,
};
const policy = { adminCidrs: ["198.51.100.7/32"], behindCloudflare: false, sshPort: 22 };
const key = pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----test");
const hcloudToken = pulumi.secret("test-hcloud-token");

/** Every child of an infra: component is named from the component's name. */
function expectChildrenNamedFromParent(run: GraphRun): void {
  const components = new Set(run.resources.filter((resource) => resource.type.startsWith("infra:")).map((resource) => resource.name));
  for (const resource of run.resources) {
    if (resource.parent && components.has(resource.parent))
      expect(resource.name.startsWith(resource.parent), `${resource.name} under ${resource.parent}`).toBe(true);
  }
}

async function failureOf(build: () => void): Promise<{ error: Error; run: GraphRun }> {
  let error: Error | undefined;
  const run = await graphOf(() => {
    try {
      build();
    } catch (caught) {
      error = caught as Error;
    }
  });
  if (!error) throw new Error("expected the component to refuse its arguments");
  return { error, run };
}

/** Stands in for a host's last preparation step. */
class Prepared extends pulumi.CustomResource {
  constructor(name: string) {
    super("test:index:Prepared", name, {});
  }
}

describe("Server", () => {
  const preprod = () => {
    new Server("pre", { server: hetzner, sshPrivateKey: key, hcloudToken, hetznerFirewallId: 42, protect: true, labels: { environment: "preprod" } });
  };

  it("Hetzner: firewall attached, protection, user-data, readiness before the Docker provider (F4)", async () => {
    const run = await graphOf(preprod);
    expect(only(run, "infra:compute:Server").name).toBe("pre");
    const server = only(run, "hcloud:index/server:Server");
    expect(server.inputs).toMatchObject({
      serverType: "cx23",
      location: "fsn1",
      image: "ubuntu-24.04",
      firewallIds: [42],
      deleteProtection: true,
      rebuildProtection: true,
      labels: { environment: "preprod" },
    });
    expect(server.protect).toBe(true);
    const userData = String(only(await graphOf(preprod, {}, [], { revealSecrets: true }), "hcloud:index/server:Server").inputs.userData);
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain("/dev/disk/by-id/scsi-0HC_Volume_");
    expect(only(run, "hcloud:index/volume:Volume")).toMatchObject({ protect: true, inputs: { size: 20, format: "ext4", deleteProtection: true } });
    expect(only(run, "hcloud:index/volumeAttachment:VolumeAttachment").inputs.automount).toBe(false);
    // A resize keeps the root disk, so the type can go back down later.
    expect(server.inputs.keepDisk).toBe(true);
    const ready = only(run, SSH_COMMAND_TYPE);
    expect(ready.name).toBe("pre-ready");
    // It pins the key the program made for the server; only the admin key is masked (H9).
    expect(ready.inputs.connection).toEqual({
      host: expect.stringMatching(/^203\.0\.113\.\d+$/),
      port: 22,
      user: "deploy",
      hostPublicKey: MOCK_HOST_PUBLIC_KEY,
    });
    expect(ready.inputs.privateKey).toBe("[secret]");
    // After a resize the provider leaves the server off: it is powered on, then checked again.
    const running = only(run, "pulumi-nodejs:dynamic/compute:ServerRunning");
    expect(running.name).toBe("pre-running");
    expect(running.inputs).toMatchObject({ serverType: "cx23", token: "[secret]", apiEndpoint: "https://api.hetzner.cloud/v1" });
    expect(ready.dependsOn).toContain("pre-running");
    expect(ready.inputs.triggers).toEqual([expect.anything(), "cx23"]);
    const provider = only(run, "pulumi:providers:docker");
    expect(provider.dependsOn).toContain("pre-ready");
    expect(provider.inputs.host).toMatch(/^ssh:\/\/deploy@203\.0\.113\.\d+$/);
    expectChildrenNamedFromParent(run);
  });

  it("Hetzner: the program makes the server's host key, cloud-init installs it, and the user-data is a secret (H9)", async () => {
    const run = await graphOf(preprod);
    const hostKey = only(run, "pulumi-nodejs:dynamic/compute:SSHHostKey");
    expect(hostKey).toMatchObject({ name: "pre-host-key", parent: "pre", protect: true });
    const server = only(run, "hcloud:index/server:Server");
    expect(server.inputs.userData).toBe("[secret]");
    expect(server.dependsOn).toContain("pre-host-key");
    const revealed = String(only(await graphOf(preprod, {}, [], { revealSecrets: true }), "hcloud:index/server:Server").inputs.userData);
    expect(revealed).toContain("ssh_deletekeys: true");
    expect(revealed).toContain(`ed25519_public: ${MOCK_HOST_PUBLIC_KEY}`);
    expect(revealed).toContain("ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----");
  });

  it("Hetzner: the host's own UFW and DOCKER-USER rules ride in the user-data (H6)", async () => {
    const rules = firewallRules([{ port: 443, protocol: "tcp", service: "caddy" }], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: false, sshPort: 22 });
    const run = await graphOf(
      () => {
        new Server("pre", {
          server: { ...hetzner, volumeGb: undefined },
          sshPrivateKey: key,
          hcloudToken,
          hetznerFirewallId: 42,
          hostFirewall: { rules },
          protect: false,
          labels: {},
        });
      },
      {},
      [],
      { revealSecrets: true },
    );
    const userData = String(only(run, "hcloud:index/server:Server").inputs.userData);
    expect(userData).toContain(FIREWALL_SCRIPT_PATH);
    expect(userData).toContain("ufw allow proto tcp from 198.51.100.7/32 to any port 22");
    expect(userData).toContain("DOCKER-USER");
  });

  it("Hetzner: the host firewall runs again over SSH whenever its rules change, before the Docker provider is used (H6)", async () => {
    const rules = firewallRules([], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: false, sshPort: 22 });
    const peers = { address: "10.0.1.2", sourceCidr: "10.0.0.0/16", ports: [{ port: 6432, protocol: "tcp" as const, service: "pgbouncer" }] };
    const run = await graphOf(() => {
      new Server("data", {
        server: { ...hetzner, volumeGb: undefined },
        sshPrivateKey: key,
        hcloudToken,
        hetznerFirewallId: 42,
        hostFirewall: { rules, peers },
        protect: false,
        labels: {},
      });
    });
    const sync = ofType(run, SSH_COMMAND_TYPE).find((resource) => resource.name === "data-host-ufw")!;
    expect(sync.inputs).toMatchObject({ create: "sudo bash -s", stdin: ufwScript(rules, peers), triggers: [contentHash(ufwScript(rules, peers))] });
    expect(String(sync.inputs.stdin)).toContain("--ctorigdst 10.0.1.2 --ctorigdstport 6432 -j RETURN");
    expect(sync.dependsOn).toContain("data-ready");
    expect(only(run, "pulumi:providers:docker").dependsOn).toContain("data-host-ufw");
  });

  it("Hetzner without a firewall is refused before any child exists (F4)", async () => {
    const { error, run } = await failureOf(() => new Server("bare", { server: hetzner, sshPrivateKey: key, protect: false, labels: {} }));
    expect(error.message).toContain("needs a firewall attached (F4)");
    expect(ofType(run, "hcloud:index/server:Server")).toHaveLength(0);
  });

  it("Hetzner without the API token is refused before any child exists: nothing could power it on after a resize", async () => {
    const { error, run } = await failureOf(
      () => new Server("tokenless", { server: hetzner, sshPrivateKey: key, hetznerFirewallId: 42, protect: false, labels: {} }),
    );
    expect(error.message).toContain("needs the hcloud:token secret");
    expect(ofType(run, "hcloud:index/server:Server")).toHaveLength(0);
  });

  it.each([
    ["2001:db8::20", 2222, "ssh://deploy@[2001:db8::20]:2222", "[2001:db8::20]:2222"],
    ["2001:db8::20", 22, "ssh://deploy@[2001:db8::20]", "2001:db8::20"],
    ["2001:DB8:0:0:0:0:0:21", 22, "ssh://deploy@[2001:DB8:0:0:0:0:0:21]", "2001:db8:0:0:0:0:0:21"],
    ["::ffff:cb00:7114", 2200, "ssh://deploy@[::ffff:cb00:7114]:2200", "[::ffff:cb00:7114]:2200"],
  ])("existing VPS at %s, port %i: the Docker provider's URL brackets the address, ssh takes it bare after --", async (address, sshPort, url, pinnedAs) => {
    const run = await graphOf(() => {
      new Server("v6", { server: { ...existing, address, sshPort }, sshPrivateKey: key, protect: false, labels: {} });
    });
    // Unbracketed, `ssh://deploy@2001:db8::20:2222` would be read as host "2001:db8:" and port 20.
    expect(only(run, "pulumi:providers:docker").inputs.host).toBe(url);
    const prepare = named(run, SSH_COMMAND_TYPE, "v6-prepare");
    expect(prepare.inputs.connection).toEqual({ host: address, port: sshPort, user: "deploy", hostPublicKey: TEST_HOST_KEY });
    const args = sshArguments({ host: address, port: sshPort, user: "deploy" }, { identity: "/k", knownHosts: "/kh", controlPath: "/c" }, "true");
    expect(args.slice(-7)).toEqual(["-p", String(sshPort), "-l", "deploy", "--", address, "true"]);
    expect(readFileSync(join(userInfo().homedir, knownHostsPath(address, sshPort).slice(2)), "utf8")).toBe(`${pinnedAs} ${TEST_HOST_KEY}\n`);
  });

  it("existing VPS: prepared over SSH with its configured host key pinned, re-run only when the script changes", async () => {
    let server: Server | undefined;
    const run = await graphOf(() => {
      server = new Server("vps", { server: existing, sshPrivateKey: key, protect: false, labels: {} });
    });
    const prepare = named(run, SSH_COMMAND_TYPE, "vps-prepare");
    const script = hostPrepareScript({ sshUser: "deploy" });
    expect(prepare.inputs).toMatchObject({ create: "sudo bash -s", stdin: script, triggers: [contentHash(script)] });
    expect(prepare.inputs.connection).toEqual({ host: "203.0.113.20", port: 2222, user: "deploy", hostPublicKey: TEST_HOST_KEY });
    expect(prepare.inputs.privateKey).toBe("[secret]");
    // What the other commands on the host and the Docker provider wait for.
    expect(await new Promise((resolve) => server!.ready.urn.apply(resolve))).toMatch(/::vps-prepare$/);
    expect(ofType(run, "pulumi-nodejs:dynamic/compute:SSHHostKey")).toHaveLength(0);
    expect(contentHash(hostPrepareScript({ sshUser: "other" }))).not.toBe(contentHash(script));
    expect(ofType(run, "hcloud:index/server:Server")).toHaveLength(0);
    const provider = only(run, "pulumi:providers:docker");
    expect(provider.inputs.host).toBe("ssh://deploy@203.0.113.20:2222");
    expect(provider.dependsOn).toContain("vps-prepare");
    // Its own ssh accepts only the configured key, from a file the program wrote (H9).
    expect(JSON.parse(String(provider.inputs.sshOpts))).toEqual([
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${knownHostsPath("203.0.113.20", 2222)}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "UpdateHostKeys=no",
      "-o",
      "ConnectTimeout=15",
    ]);
    expect(readFileSync(join(userInfo().homedir, ".cache/infra/known_hosts/203.0.113.20-2222"), "utf8")).toBe(`[203.0.113.20]:2222 ${TEST_HOST_KEY}\n`);
  });
});

describe("Firewall", () => {
  it("Hetzner: rules derived from the exposures", async () => {
    const run = await graphOf(() => {
      new Firewall("fw", { exposed: [{ port: 443, protocol: "tcp", service: "caddy" }], policy, target: { kind: "hetzner" } });
    });
    const firewall = only(run, "hcloud:index/firewall:Firewall");
    expect(firewall.name).toBe("fw");
    expect((firewall.inputs.rules as { port?: string }[]).map((rule) => rule.port)).toEqual(["22", "443", undefined]);
  });

  it("existing host: the same rules applied with UFW over SSH", async () => {
    const run = await graphOf(() => {
      const connection = { host: "203.0.113.20", port: 22, user: "deploy", privateKey: key, hostPublicKey: TEST_HOST_KEY };
      new Firewall("fw", { exposed: [], policy, target: { kind: "ufw", connection, ready: new Prepared("vps-prepare") } });
    });
    const ufw = only(run, SSH_COMMAND_TYPE);
    expect(ufw.name).toBe("fw-ufw");
    // The preparation installs ufw, so the rules wait for it.
    expect(ufw.dependsOn).toContain("vps-prepare");
    expect(String(ufw.inputs.stdin)).toContain("ufw allow proto tcp from 198.51.100.7/32 to any port 22");
    expect(ofType(run, "hcloud:index/firewall:Firewall")).toHaveLength(0);
  });

  it("refuses SSH from everywhere (F1) before registering a rule", async () => {
    const { error, run } = await failureOf(
      () => new Firewall("fw", { exposed: [], policy: { adminCidrs: ["0.0.0.0/0"], behindCloudflare: false, sshPort: 22 }, target: { kind: "hetzner" } }),
    );
    expect(error.message).toMatch(/admin CIDRs 0\.0\.0\.0\/0, which covers every IPv4 address; F1 allows SSH from at most a \/8 of IPv4/);
    expect(ofType(run, "hcloud:index/firewall:Firewall")).toHaveLength(0);
  });

  it.each([[["0.0.0.0/00"]], [["0.0.0.0/1", "128.0.0.0/1"]], [["::ffff:0:0/96"]], [["::/1", "8000::/1"]]])(
    "refuses admin CIDRs %j, which cover every address of a family (F1)",
    async (adminCidrs) => {
      const { error, run } = await failureOf(
        () => new Firewall("fw", { exposed: [], policy: { adminCidrs, behindCloudflare: false, sshPort: 22 }, target: { kind: "hetzner" } }),
      );
      expect(error.message).toMatch(/(covers|together cover) every IPv[46] address.*; F1 allows SSH/);
      expect(ofType(run, "hcloud:index/firewall:Firewall")).toHaveLength(0);
    },
  );
});

describe("Network, Service, Ingress", () => {
  const provider = () => new docker.Provider("host-docker", { host: "ssh://deploy@203.0.113.20" });

  it("Network: explicit name, subnet and internal flag", async () => {
    const run = await graphOf(() => {
      new Network("vps-backend", {
        spec: { key: "backend", subnet: "172.20.2.0/24", internal: true, purpose: "" },
        networkName: "vpai-backend",
        provider: provider(),
      });
    });
    expect(only(run, "docker:index/network:Network").inputs).toMatchObject({
      name: "vpai-backend",
      internal: true,
      driver: "bridge",
      ipamConfigs: [{ subnet: "172.20.2.0/24" }],
    });
    expect(only(run, "docker:index/network:Network").parent).toBe("vps-backend");
  });

  it("Network: a bad subnet is refused", async () => {
    const { error } = await failureOf(
      () => new Network("n", { spec: { key: "x", subnet: "172.20.2.0/33", internal: true, purpose: "" }, networkName: "x", provider: provider() }),
    );
    expect(error.message).toContain("not an IPv4 CIDR");
  });

  const api = service({
    name: "api",
    description: "test",
    role: "app",
    image: { repository: "example/api", tag: "1.2.3" },
    networks: ["backend"],
    ports: [{ container: 8000, publish: { host: 8000, address: "127.0.0.1" } }],
    env: { MODE: "prod", TOKEN: { secret: "infra:token" } },
    volumes: [{ volume: "data", target: "/data" }],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 300,
  });

  it("Service: pinned image kept locally, hardened container, secret env stays secret, volumes protected", async () => {
    const run = await graphOf(() => {
      const docker = provider();
      const db = new Service("db", {
        spec: { ...api, name: "db" },
        containerName: "t-db",
        provider: docker,
        networks: { backend: "t-backend" },
        env: {},
        protectVolumes: false,
      });
      new Service("api", {
        spec: api,
        containerName: "t-api",
        provider: docker,
        networks: { backend: "t-backend" },
        env: { MODE: "prod", TOKEN: pulumi.secret("s3cr3t-token") },
        after: [db],
        protectVolumes: true,
      });
    });
    expect(named(run, "docker:index/remoteImage:RemoteImage", "api-image").inputs).toMatchObject({ name: "example/api:1.2.3", keepLocally: true });
    const container = named(run, "docker:index/container:Container", "api");
    expect(container.parent).toBe("api");
    expect(container.inputs).toMatchObject({
      name: "t-api",
      memory: 300,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"] },
      ports: [{ internal: 8000, external: 8000, ip: "127.0.0.1", protocol: "tcp" }],
      networksAdvanced: [{ name: "t-backend", aliases: ["api"] }],
      healthcheck: { tests: ["CMD", "true"] },
      wait: true,
    });
    expect(container.inputs.envs).toBe("[secret]");
    expect(JSON.stringify(run.resources)).not.toContain("s3cr3t-token");
    expect(container.dependsOn).toContain("db");
    expect(named(run, "docker:index/volume:Volume", "api-data")).toMatchObject({ protect: true, inputs: { name: "t-api-data" } });
    expect(named(run, "docker:index/volume:Volume", "db-data").protect).toBe(false);
    expectChildrenNamedFromParent(run);
  });

  it("Service: a release's secret files are its own, under its container's release name, written once the host is ready and before the container", async () => {
    const connection = { host: "203.0.113.20", port: 22, user: "deploy", privateKey: pulumi.secret("test-key"), hostPublicKey: TEST_HOST_KEY };
    const spec = {
      ...api,
      ports: [{ container: 8000 }],
      env: { MODE: "prod" },
      secretFiles: [{ name: "token", content: { secret: "infra:token" }, variable: "TOKEN_FILE", uid: 1000 }],
    };
    const run = await graphOf(() => {
      const docker = provider();
      const ready = new Network("ready", {
        spec: { key: "ready", subnet: "172.20.9.0/24", internal: true, purpose: "" },
        networkName: "t-ready",
        provider: docker,
      });
      new Service("api", {
        spec,
        containerName: "t-api-0123abcd",
        releaseId: "0123abcd",
        provider: docker,
        networks: { backend: "t-backend" },
        env: { MODE: "prod" },
        secretFiles: { connection, contents: { token: pulumi.secret("s3cr3t-token") } },
        hostReady: ready,
        healthGate: { connection },
        protectVolumes: false,
      });
    });
    const secrets = named(run, SSH_COMMAND_TYPE, "api-0123abcd-secrets");
    expect(secrets.parent).toBe("api");
    expect(String(secrets.inputs.create)).toMatch(/ t-api-0123abcd token:1000$/);
    expect(String(secrets.inputs.delete)).toContain("rm -rf /etc/infra/secrets/t-api-0123abcd");
    expect(secrets.inputs.stdin).toBe("[secret]");
    expect(secrets.dependsOn).toContain("ready");
    const container = named(run, "docker:index/container:Container", "api-0123abcd");
    expect(container.inputs.name).toBe("t-api-0123abcd");
    expect(container.inputs.volumes).toContainEqual({
      hostPath: "/etc/infra/secrets/t-api-0123abcd/token",
      containerPath: "/run/secrets/token",
      readOnly: true,
    });
    expect(container.inputs.envs).toEqual(["MODE=prod", "TOKEN_FILE=/run/secrets/token"]);
    expect(container.dependsOn).toContain("api-0123abcd-secrets");
    // The volume is the service's, shared by every release.
    expect(named(run, "docker:index/volume:Volume", "api-data").inputs.name).toBe("t-api-data");
    expect(JSON.stringify(run.resources)).not.toContain("s3cr3t-token");
  });

  it("Service: a network the host does not have is refused before the container", async () => {
    const { error, run } = await failureOf(
      () => new Service("api", { spec: api, containerName: "t-api", provider: provider(), networks: {}, env: {}, protectVolumes: false }),
    );
    expect(error.message).toContain('network "backend" is not defined');
    expect(ofType(run, "docker:index/container:Container")).toHaveLength(0);
  });

  it("Service: only the ingress may publish on a public address (C11)", async () => {
    const exposed = { ...api, ports: [{ container: 5432, publish: { host: 5432, address: "0.0.0.0" } }] };
    const { error, run } = await failureOf(
      () =>
        new Service("db", { spec: exposed, containerName: "t-db", provider: provider(), networks: { backend: "t-backend" }, env: {}, protectVolumes: false }),
    );
    expect(error.message).toContain("port 5432 is published on 0.0.0.0; only the ingress may publish on a public address");
    expect(ofType(run, "docker:index/container:Container")).toHaveLength(0);
  });

  const routes = [{ hostname: "api.example.com", service: "api", port: 8000 }];

  it("Ingress (Caddy): publishes 80/443 on all addresses and carries the generated Caddyfile", async () => {
    const run = await graphOf(() => {
      const spec = caddyServiceSpec(routes, { networks: ["backend"], memoryMb: 64, dependsOn: [] });
      new Ingress("edge", {
        kind: "caddy",
        spec,
        routes,
        knownServices: ["api"],
        containerName: "t-caddy",
        provider: provider(),
        networks: { backend: "t-backend" },
        env: {},
        protectVolumes: false,
        healthGate: { connection: { host: "203.0.113.20", port: 22, user: "deploy", privateKey: pulumi.secret("test-key"), hostPublicKey: TEST_HOST_KEY } },
      });
    });
    expect(only(run, "infra:ingress:Ingress").name).toBe("edge");
    const container = only(run, "docker:index/container:Container");
    expect(container.inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    // The Caddyfile is no upload (a change would replace the container) but a live file, installed and reloaded by a host command.
    expect(container.inputs.uploads ?? []).toEqual([]);
    expect(container.inputs.volumes).toContainEqual({ hostPath: "/srv/infra/t-caddy", containerPath: "/etc/infra", readOnly: true });
    const config = run.resources.find((resource) => resource.name === "edge-service-live-config")!;
    const [caddyfile] = liveFilesInstalled(config.inputs.triggers, "t-caddy");
    expect(caddyfile!.path).toBe("/etc/infra/live/Caddyfile");
    expect(caddyfile!.content).toContain("api.example.com {");
    expect(caddyfile!.content).toContain("reverse_proxy api:8000");
    expect(config.inputs.stdin).toContain("reverse_proxy api:8000");
    expect(container.dependsOn).toContain(config.name);
    expectChildrenNamedFromParent(run);
  });

  it("Ingress (Caddy): a route to a service that does not exist is refused", async () => {
    const { error } = await failureOf(() => {
      const spec = caddyServiceSpec(routes, { networks: ["backend"], memoryMb: 64, dependsOn: [] });
      new Ingress("edge", {
        kind: "caddy",
        spec,
        routes,
        knownServices: ["web"],
        containerName: "t-caddy",
        provider: provider(),
        networks: { backend: "t-backend" },
        env: {},
        protectVolumes: false,
      });
    });
    expect(error.message).toContain('routes to unknown service "api"');
  });
});

describe("Zone", () => {
  it("sets SSL strict, TLS 1.2, always HTTPS, HSTS, and proxied records (CF1-CF4)", async () => {
    const run = await graphOf(() => {
      new Zone("dns", {
        zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        security: { hsts: true },
        records: [{ key: "n8n", name: "n8n.example.com", proxied: true }],
        target: "203.0.113.20",
      });
    });
    const settings = Object.fromEntries(
      ofType(run, "cloudflare:index/zoneSetting:ZoneSetting").map((setting) => [setting.inputs.settingId, setting.inputs.value]),
    );
    expect(settings).toMatchObject({
      ssl: "strict",
      min_tls_version: "1.2",
      always_use_https: "on",
      security_header: { strictTransportSecurity: { enabled: true, maxAge: 31536000, includeSubdomains: true, nosniff: true } },
    });
    expect(only(run, "cloudflare:index/dnsRecord:DnsRecord").inputs).toMatchObject({
      name: "n8n.example.com",
      type: "A",
      content: "203.0.113.20",
      proxied: true,
      ttl: 1,
    });
    expectChildrenNamedFromParent(run);
  });

  it("no HSTS header setting unless asked, and an unproxied record needs a reason (CF4)", async () => {
    const run = await graphOf(() => {
      new Zone("dns", { zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", security: { hsts: false }, records: [], target: "203.0.113.20" });
    });
    expect(ofType(run, "cloudflare:index/zoneSetting:ZoneSetting").map((setting) => setting.inputs.settingId)).not.toContain("security_header");
    const { error } = await failureOf(
      () =>
        new Zone("dns2", {
          zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
          security: { hsts: false },
          records: [{ key: "x", name: "x.example.com", proxied: false }],
          target: "203.0.113.20",
        }),
    );
    expect(error.message).toContain("unproxied records need a reason (CF4)");
  });
});
