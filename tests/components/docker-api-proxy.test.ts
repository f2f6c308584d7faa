import { describe, expect, it } from "vitest";
import { DOCKER_READ_ENDPOINT_NAMES, dockerAPIProxyConfig, endpointPattern, type DockerReadEndpoint } from "../../components/container/docker-api-proxy-config";
import { DOCKER_API_PROXY, DOCKER_API_URL, DOCKER_SOCKET, dockerAPIConsumers, withDockerAPIProxy } from "../../components/container/docker-api-proxy-spec";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { BLUEPRINTS } from "../../infra/blueprints";
import { modelOf } from "../policy/models";
import { validateFile } from "../support/validators";

/**
 * The socket proxy's configuration and placement as data (C14). What HAProxy
 * really lets through is tested against a stand-in Docker socket in
 * docker-api-proxy-live.test.ts, and on the testbed VPS against the real
 * daemon (tests/testbed/deploy-vpai.test.ts).
 */

const haproxyCheck = (config: string) => validateFile("haproxy", (file) => ["-c", "-f", file], config, "haproxy.cfg");

const consumer = (name: string, dockerAPI: DockerReadEndpoint[] | undefined, networks: string[] = ["monitoring"]): ServiceSpec =>
  service({
    name,
    description: name,
    role: "monitoring",
    image: { repository: `example/${name}`, tag: "1.0.0" },
    networks,
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 32,
    ...(dockerAPI ? { dockerAPI } : {}),
  });

describe("endpointPattern: the read endpoints a consumer declared, and nothing that spells another path", () => {
  it.each<[DockerReadEndpoint, string[], string[]]>([
    ["ping", ["/_ping", "/v1.41/_ping"], ["/_pingx", "/v1.41//_ping", "/v1x41/_ping", "/_ping/"]],
    ["version", ["/version", "/v1.47/version"], ["/versions", "/v1/version", "/v.1/version"]],
    ["info", ["/info", "/v1.43/info"], ["/system/info", "/info/"]],
    [
      "container-list",
      ["/containers/json", "/v1.41/containers/json"],
      ["/containers/json/", "//containers/json", "/containers/%6Ason", "/containers/create", "/CONTAINERS/JSON"],
    ],
    [
      "container-inspect",
      ["/containers/4f1c0ffee/json", "/v1.43/containers/vpai-n8n/json", "/containers/a.b_c-d/json"],
      [
        "/containers/../json",
        "/containers/./json",
        "/containers/x/y/json",
        "/containers/%2e%2e/json",
        "/containers/x/archive",
        "/containers/x/export",
        "/containers//json",
      ],
    ],
    [
      "container-logs",
      ["/containers/4f1c0ffee/logs", "/v1.41/containers/vpai-alloy/logs"],
      ["/containers/x/attach", "/containers/x/attach/ws", "/containers/x/logs/../exec", "/containers/x/logs/"],
    ],
    [
      "image-inspect",
      [
        "/images/crazymax/diun:4.29.0/json",
        "/images/127.0.0.1:5000/library/postgres:16.6-alpine/json",
        "/v1.41/images/sha256:0123abcd/json",
        "/images/haproxy:3.0.5@sha256:0123/json",
      ],
      [
        "/images/get",
        "/images/x/get",
        "/images/../containers/x/json",
        "/images/./x/json",
        "/images//x/json",
        "/images/x/push",
        "/images/%2F/json",
        "/images/json",
      ],
    ],
    ["network-list", ["/networks", "/v1.41/networks"], ["/networks/create", "/networks/x", "/networks/x/connect"]],
  ])("%s", (endpoint, allowed, refused) => {
    const pattern = new RegExp(endpointPattern([endpoint]));
    for (const path of allowed) expect(pattern.test(path), path).toBe(true);
    for (const path of refused) expect(pattern.test(path), path).toBe(false);
  });

  it("no endpoint reaches a write, exec, archive, export, attach, secrets or swarm path of the Engine API", () => {
    const everything = new RegExp(endpointPattern(DOCKER_READ_ENDPOINT_NAMES));
    const dangerous = [
      "/containers/create",
      "/v1.41/containers/create",
      "/containers/x/start",
      "/containers/x/stop",
      "/containers/x/kill",
      "/containers/x/exec",
      "/exec/x/start",
      "/containers/x/archive",
      "/containers/x/export",
      "/containers/x/attach",
      "/containers/x/attach/ws",
      "/containers/x/update",
      "/containers/prune",
      "/images/create",
      "/images/load",
      "/images/get",
      "/build",
      "/secrets",
      "/configs",
      "/swarm",
      "/services",
      "/plugins",
      "/volumes",
      "/session",
      "/grpc",
      "/auth",
    ];
    for (const path of dangerous) expect(everything.test(path), path).toBe(false);
  });
});

describe("dockerAPIProxyConfig", () => {
  const alloy = { name: "alloy", subnet: "172.31.252.0/28", endpoints: ["ping", "container-list", "container-logs"] as DockerReadEndpoint[] };
  const diun = { name: "diun", subnet: "172.31.252.16/28", endpoints: ["ping", "container-list", "image-inspect"] as DockerReadEndpoint[] };
  const config = dockerAPIProxyConfig({ consumers: [alloy, diun], listen: { port: 2375 }, socket: DOCKER_SOCKET, group: 99 });

  it("is valid for haproxy -c, the real HAProxy", () => {
    const result = haproxyCheck(config);
    expect(result.ok, result.output).toBe(true);
  });

  it("allows each consumer its own endpoints from its own subnet, then refuses everything else with 403, in that order", () => {
    const rules = config.split("\n").filter((line) => /^\s+http-request /.test(line));
    expect(rules).toEqual([
      "  http-request allow if read_method from_self ping",
      "  http-request allow if read_method from_alloy reads_of_alloy",
      "  http-request allow if read_method from_diun reads_of_diun",
      "  http-request deny deny_status 403",
    ]);
    expect(config).toContain("  acl read_method method GET HEAD\n");
    expect(config).toContain("  acl from_alloy src 172.31.252.0/28\n");
    expect(config).toContain(`  acl reads_of_diun path_reg '${endpointPattern(diun.endpoints)}'\n`);
    expect(config).toContain(`  server docker ${DOCKER_SOCKET}\n`);
    expect(config).toContain("  bind :2375\n");
  });

  it.each<[string, Parameters<typeof dockerAPIProxyConfig>[0]["consumers"], RegExp]>([
    ["a consumer twice", [alloy, alloy], /consumer alloy is listed twice/],
    ["a subnet with host bits", [{ ...alloy, subnet: "172.31.252.5/28" }], /172.31.252.5\/28 is not an IPv4 network written plainly/],
    ["an IPv6 subnet", [{ ...alloy, subnet: "fd00::/64" }], /fd00::\/64 is not an IPv4 network/],
    ["no endpoint", [{ ...alloy, endpoints: [] }], /consumer alloy declares no endpoint/],
    ["an endpoint that is not a read", [{ ...alloy, endpoints: ["container-create" as DockerReadEndpoint] }], /unknown endpoint container-create/],
  ])("refuses %s", (_case, consumers, message) => {
    expect(() => dockerAPIProxyConfig({ consumers, listen: { port: 2375 }, socket: DOCKER_SOCKET })).toThrow(message);
  });
});

describe("withDockerAPIProxy: one proxy per host, a network per consumer", () => {
  it("changes nothing on a host where no service reads the Docker API", () => {
    const services = [consumer("grafana", undefined)];
    expect(withDockerAPIProxy(services)).toEqual({ services, networks: [] });
  });

  it("adds the proxy, which alone mounts the socket, and gives each consumer a /28 of its own, in the order of their names", () => {
    const { services, networks } = withDockerAPIProxy([
      consumer("promtail", ["ping", "container-logs"]),
      consumer("grafana", undefined),
      consumer("cadvisor", ["ping", "info"]),
    ]);
    expect(networks.map((network) => [network.key, network.subnet, network.internal])).toEqual([
      ["docker-api-cadvisor", "172.31.252.0/28", true],
      ["docker-api-promtail", "172.31.252.16/28", true],
    ]);
    const proxy = services.find((spec) => spec.name === DOCKER_API_PROXY)!;
    expect(proxy.networks).toEqual(["docker-api-cadvisor", "docker-api-promtail"]);
    expect(proxy.binds).toEqual([{ hostPath: DOCKER_SOCKET, target: DOCKER_SOCKET, readOnly: true }]);
    expect(proxy.ports.filter((port) => port.publish)).toEqual([]);
    expect(proxy.readOnlyRootFilesystem).toBe(true);
    expect(services.find((spec) => spec.name === "promtail")).toMatchObject({ networks: ["monitoring", "docker-api-promtail"], dependsOn: [DOCKER_API_PROXY] });
    expect(services.find((spec) => spec.name === "grafana")).toMatchObject({ networks: ["monitoring"], dependsOn: [] });
    for (const spec of services.filter((candidate) => candidate.name !== DOCKER_API_PROXY)) expect(spec.binds, spec.name).toEqual([]);
  });

  it("hands the proxy its configuration in the environment, written to a tmpfs at start, so nothing is uploaded", () => {
    const { services } = withDockerAPIProxy([consumer("diun", ["ping", "container-list"])]);
    const proxy = services.find((spec) => spec.name === DOCKER_API_PROXY)!;
    expect(proxy.files).toEqual([]);
    expect(proxy.env.DOCKER_API_PROXY_CONFIG).toBe(
      dockerAPIProxyConfig({
        consumers: dockerAPIConsumers([consumer("diun", ["ping", "container-list"])]),
        listen: { port: 2375 },
        socket: DOCKER_SOCKET,
        group: 99,
      }),
    );
    expect(proxy.command).toEqual(["sh", "-c", `printf '%s' "$DOCKER_API_PROXY_CONFIG" > /tmp/haproxy.cfg && exec haproxy -db -f /tmp/haproxy.cfg`]);
    expect(proxy.tmpfs).toEqual(["/tmp"]);
  });

  it("runs HAProxy as root, the socket's owner, in the haproxy group: a process that changed its group is not dumpable, so no other container's root opens the socket through /proc/<pid>/root", () => {
    const { services } = withDockerAPIProxy([consumer("diun", ["ping"])]);
    const proxy = services.find((spec) => spec.name === DOCKER_API_PROXY)!;
    expect(proxy.user).toBe("0");
    expect(proxy.capAdd).toEqual(["SETGID"]);
    expect(String(proxy.env.DOCKER_API_PROXY_CONFIG)).toMatch(/^global\n( {2}.*\n)* {2}gid 99\n/m);
  });

  it("refuses a host with more consumers than it has networks for", () => {
    const many = Array.from({ length: 17 }, (_, index) => consumer(`agent-${String(index).padStart(2, "0")}`, ["ping"]));
    expect(() => withDockerAPIProxy(many)).toThrow(/17 consumers on one host, more than the 16 networks/);
  });
});

describe("every shipped stack's socket proxy", () => {
  const stacks = Object.keys(BLUEPRINTS).flatMap((blueprint) => ["prod", "preprod"].map((stack) => [blueprint, stack] as const));

  it.each(stacks)(
    "%s on %s: one proxy on each host with a consumer, whose configuration haproxy -c accepts; its consumers point at it, not at the socket",
    (blueprint, stack) => {
      const model = modelOf(stack, { values: { "infra:blueprint": blueprint } });
      let proxies = 0;
      for (const host of model.hosts) {
        const consumers = host.services.filter((spec) => spec.dockerAPI !== undefined);
        const proxy = host.services.filter((spec) => spec.name === DOCKER_API_PROXY);
        expect(proxy.length, host.server.name).toBe(consumers.length > 0 ? 1 : 0);
        if (consumers.length === 0) continue;
        proxies += 1;
        const result = haproxyCheck(String(proxy[0]!.env.DOCKER_API_PROXY_CONFIG));
        expect(result.ok, result.output).toBe(true);
        for (const spec of consumers) {
          expect(
            spec.binds.filter((bind) => bind.hostPath.includes("docker.sock")),
            spec.name,
          ).toEqual([]);
          const configured = [...Object.values(spec.env).map(String), ...(spec.command ?? []), ...spec.files.map((file) => file.content)].join("\n");
          expect(configured, spec.name).toContain(DOCKER_API_URL);
          expect(configured, spec.name).not.toContain("unix://");
        }
      }
      expect(proxies).toBeGreaterThan(0);
    },
  );
});
