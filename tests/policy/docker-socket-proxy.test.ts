import { describe, expect, it } from "vitest";
import { containerSettings } from "../../components/container/container-settings";
import { DOCKER_API_PROXY, DOCKER_SOCKET } from "../../components/container/docker-api-proxy-spec";
import { healthcheck, imageName, service } from "../../components/container/service-spec";
import { BLUEPRINTS } from "../../infra/blueprints";
import { ConfigError } from "../../infra/config/errors";
import type { HostPlan } from "../../infra/platform-model";
import { dockerAPIFindings } from "../../infra/policy/docker-api-rules";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { ruleNamed } from "../../infra/policy/rules";
import { hardenedSettings, modelOf, violationsOf } from "./models";

/**
 * C14: the socket proxy is the one container with docker.sock, and only its
 * consumers reach it. The spellings of the socket and of the directories
 * above it are in host-paths.test.ts; what the proxy lets through is in
 * tests/components/docker-api-proxy-live.test.ts.
 */

const model = modelOf("prod");
const host = model.hosts[0]!;
const proxySpec = host.services.find((spec) => spec.name === DOCKER_API_PROXY)!;

/** The proxy's container as the Service component registers it, with `overrides` on top, judged on the registered graph. */
function proxyGraph(overrides: Record<string, unknown>, name = `vpai-${DOCKER_API_PROXY}`) {
  const { uploads: _uploads, binds, ...settings } = containerSettings(proxySpec);
  const inputs = { name, image: imageName(proxySpec.image), ...settings, volumes: binds, ...overrides };
  return evaluateGraph([{ type: "docker:index/container:Container", name, inputs }], model).violations;
}

/** A hardened container of the socket proxy's image, named `name`, given the socket read-only. */
function socketHolder(name: string, image: string) {
  const settings = hardenedSettings();
  const inputs = { name, image, ...settings, volumes: [{ hostPath: DOCKER_SOCKET, containerPath: DOCKER_SOCKET, readOnly: true }] };
  return evaluateGraph([{ type: "docker:index/container:Container", name, inputs }], model).violations;
}

const withHost = (change: (plan: HostPlan) => HostPlan): HostPlan => change(host);

describe("C14: the socket proxy holds docker.sock, and no one else", () => {
  it("every shipped stack passes: on each host the proxy is the only container with the socket, read-only", () => {
    for (const blueprint of Object.keys(BLUEPRINTS)) {
      for (const stack of ["prod", "preprod"]) {
        const shipped = modelOf(stack, { values: { "infra:blueprint": blueprint } });
        expect(violationsOf(evaluateModel(shipped), "C14"), `${blueprint} on ${stack}`).toEqual([]);
        for (const plan of shipped.hosts) {
          const holders = plan.services.filter((spec) => spec.binds.some((bind) => bind.hostPath.endsWith("docker.sock")));
          expect(
            holders.map((spec) => [spec.name, spec.binds.map((bind) => [bind.hostPath, bind.readOnly])]),
            `${blueprint} on ${stack}, ${plan.server.name}`,
          ).toEqual(plan.services.some((spec) => spec.dockerAPI) ? [[DOCKER_API_PROXY, [[DOCKER_SOCKET, true]]]] : []);
        }
      }
    }
  });

  it("the proxy's own container, registered as the program does, passes on the graph", () => {
    expect(proxyGraph({})).toEqual([]);
  });

  it("the model names the proxy's container and plans its release as it does a blueprint service's, so the graph policy knows the container as the proxy", () => {
    expect(model.containerNames[DOCKER_API_PROXY]).toBe(`vpai-${DOCKER_API_PROXY}`);
    expect(model.releases.find((plan) => plan.service === DOCKER_API_PROXY)?.mode).toBe("restart");
  });

  it.each([
    ["the proxy's image under another name", `vpai-web`, imageName(proxySpec.image)],
    ["the proxy's name with another image", `vpai-${DOCKER_API_PROXY}`, "tecnativa/docker-socket-proxy:0.3.0"],
    ["a container that only calls itself a socket proxy", "vpai-socket-proxy", "lscr.io/linuxserver/socket-proxy:1.26.2"],
  ])("%s, given the socket read-only, is refused", (_case, name, image) => {
    const found = socketHolder(name, image).filter((violation) => violation.rule === "C14");
    expect(found.map((violation) => violation.message).join("\n")).toMatch(/mounts the Docker socket .*: read-only or not/);
    expect(found[0]!.fix).toBe(ruleNamed("C14")!.fix);
  });

  it("the proxy given the socket read-write is refused under C3", () => {
    const found = proxyGraph({ volumes: [{ hostPath: DOCKER_SOCKET, containerPath: DOCKER_SOCKET, readOnly: false }] });
    expect(
      violationsOf({ violations: found, waivers: [], notApplicable: [] }, "C3")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/Docker socket .* read-write/);
  });

  it.each([
    ["on the loopback address", [{ internal: 2375, external: 2375, ip: "127.0.0.1", protocol: "tcp" }], /publishes 127\.0\.0\.1:2375/],
    ["on every address", [{ internal: 2375, external: 2375, ip: "0.0.0.0", protocol: "tcp" }], /publishes 0\.0\.0\.0:2375/],
  ])("the proxy published %s is refused on the graph", (_case, ports, message) => {
    const found = proxyGraph({ ports }).filter((violation) => violation.rule === "C14");
    expect(found.map((violation) => violation.message).join("\n")).toMatch(message);
  });

  it("a blueprint may not name a service like the proxy, nor a network like a consumer's", () => {
    const spoof = (change: (spec: ReturnType<typeof BLUEPRINTS.vpai.build>) => ReturnType<typeof BLUEPRINTS.vpai.build>) => {
      try {
        modelOf("prod", { spec: change });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems.map((problem) => problem.message).join("\n");
      }
      return "";
    };
    const proxyLike = service({
      name: DOCKER_API_PROXY,
      description: "an open proxy",
      role: "monitoring",
      image: proxySpec.image,
      networks: ["backend"],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 16,
    });
    expect(spoof((spec) => ({ ...spec, services: [...spec.services, proxyLike] }))).toMatch(
      /service docker-socket-proxy: the name is kept for the socket proxy/,
    );
    expect(
      spoof((spec) => ({
        ...spec,
        networks: [...spec.networks, { key: "docker-api-n8n", subnet: "172.20.9.0/24", internal: true, purpose: "n8n's own way in" }],
      })),
    ).toMatch(/network docker-api-n8n: the prefix docker-api- is kept/);
  });
});

describe("C14: only its consumers reach the proxy (a host's plan)", () => {
  it("the shipped host has no finding", () => {
    expect(dockerAPIFindings(host, (name) => `container vpai-${name}`)).toEqual([]);
  });

  it.each<[string, (plan: HostPlan) => HostPlan, RegExp]>([
    [
      "a service that joins a consumer's network",
      (plan) => ({
        ...plan,
        services: plan.services.map((spec) => (spec.name === "n8n" ? { ...spec, networks: [...spec.networks, "docker-api-alloy"] } : spec)),
      }),
      /container vpai-n8n: joins docker-api-alloy, the network alloy alone shares with the socket proxy/,
    ],
    [
      "the proxy on a network of the blueprint",
      (plan) => ({
        ...plan,
        services: plan.services.map((spec) => (spec.name === DOCKER_API_PROXY ? { ...spec, networks: [...spec.networks, "backend"] } : spec)),
      }),
      /container vpai-docker-socket-proxy: joins network backend, which is no consumer's own/,
    ],
    [
      "the proxy published",
      (plan) => ({
        ...plan,
        services: plan.services.map((spec) => (spec.name === DOCKER_API_PROXY ? { ...spec, ports: [{ container: 2375, publish: { host: 2375 } }] } : spec)),
      }),
      /container vpai-docker-socket-proxy: publishes 2375/,
    ],
    [
      "a consumer's network with a route out",
      (plan) => ({ ...plan, networks: plan.networks.map((network) => (network.key === "docker-api-diun" ? { ...network, internal: false } : network)) }),
      /network docker-api-diun: is a socket proxy network with a route out/,
    ],
    [
      "a consumer without its network",
      (plan) => ({
        ...plan,
        services: plan.services.map((spec) =>
          spec.name === "diun" ? { ...spec, networks: spec.networks.filter((network) => network !== "docker-api-diun") } : spec,
        ),
      }),
      /container vpai-diun: declares dockerAPI but does not share its network docker-api-diun with the socket proxy/,
    ],
    [
      "a consumer on a host without the proxy",
      (plan) => ({ ...plan, services: plan.services.filter((spec) => spec.name !== DOCKER_API_PROXY) }),
      /container vpai-alloy: declares dockerAPI but does not share its network docker-api-alloy/,
    ],
  ])("%s is refused, whatever the waivers", (_case, change, message) => {
    const findings = dockerAPIFindings(withHost(change), (name) => `container vpai-${name}`);
    expect(findings.map((finding) => `${finding.resource}: ${finding.message}`).join("\n")).toMatch(message);
    expect(findings.every((finding) => finding.rule === "C14" && finding.unwaivable === true)).toBe(true);
  });
});
