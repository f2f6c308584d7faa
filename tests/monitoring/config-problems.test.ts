import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { memoryLimits } from "../../components/monitoring/design";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import type { Blueprint } from "../../infra/blueprints/blueprint";
import { fastapi, FASTAPI_MONITORING } from "../../infra/blueprints/fastapi";
import { monitoredPlatform } from "../../infra/blueprints/monitored-platform";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform } from "../../infra/platform-model";
import { planInProcess, STACK_FRAME } from "../support/plan-cli";
import { rawConfigWithSecrets } from "../support/stack-config";

/**
 * What keeps the monitoring stack from being built reaches the user as every
 * other config problem does (V1, V5): in the one error, with the setting that
 * causes it, beside the stack's other problems, and without a stack trace.
 */

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL admin@infra";
const server = (name: string, roles: string[], privateIp: string) => ({
  name,
  provider: "hetzner",
  serverType: "ccx23",
  location: "fsn1",
  image: "ubuntu-24.04",
  sshUser: "deploy",
  sshPublicKey: SSH_KEY,
  roles,
  privateIp,
});
const PRIVATE_NETWORK = { ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", networkZone: "eu-central" };
/** The monitoring stack alone on a server of its own, `watch`, the platform on `web`: the stack scrapes `web` over the private network. */
const MONITORING_APART = [server("web", ["ingress", "app", "data"], "10.0.1.2"), server("watch", ["monitoring"], "10.0.1.3")];

/** Runs the plan command and checks it refuses: exit 1, nothing on stdout, one config error, no stack frame. */
async function refused(...args: string[]): Promise<string> {
  const result = await planInProcess("--stack", "prod", ...args);
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^plan failed: stack configuration has \d+ problems?:\n/);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toMatch(/\bError: /);
  return result.stderr;
}

describe("the monitoring role on a server apart from what it scrapes", () => {
  const dir = mkdtempSync(join(tmpdir(), "monitoring-problems-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const overlay = (name: string, config: Record<string, unknown>) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, stringify({ config }));
    return `@${path}`;
  };

  it.each([
    ["fastapi", "backend"],
    ["ai-video", "traefik"],
    ["nextmavens", "traefik"],
    ["galion", "pgbouncer-exporter"],
  ])("%s: %s on web is named, at web's roles, as a problem of the stack config", async (blueprint, unscraped) => {
    const stderr = await refused(
      "-c",
      overlay(blueprint, {
        "infra:blueprint": blueprint,
        "infra:domain": "example.com",
        "infra:privateNetwork": PRIVATE_NETWORK,
        "infra:servers": MONITORING_APART,
      }),
    );
    expect(stderr).toContain(
      `  - infra:servers[0].roles: ${unscraped} on web cannot be scraped from watch: it is not published on a private address (reachableFromPeers)\n`,
    );
  });

  it("is reported beside the stack's other problems, in one error", async () => {
    const stderr = await refused(
      "-c",
      overlay("several", {
        "infra:blueprint": "fastapi",
        "infra:domain": "example.com",
        "infra:privateNetwork": PRIVATE_NETWORK,
        "infra:servers": MONITORING_APART,
      }),
      "-c",
      'ingress={"routes":[{"subdomain":"db","service":"postgres"}]}',
    );
    expect(stderr.split("\n")[0]).toBe("plan failed: stack configuration has 2 problems:");
    expect(stderr).toContain("  - infra:servers[0].roles: backend on web cannot be scraped from watch");
    expect(stderr).toContain('  - infra:ingress.routes[0].service: no route of the blueprint reaches "postgres"');
  });

  it("the same layout with the monitoring role beside the platform plans", async () => {
    const together = [server("web", ["ingress", "app", "data", "monitoring"], "10.0.1.2"), server("watch", ["monitoring"], "10.0.1.3")];
    const result = await planInProcess(
      "--stack",
      "prod",
      "-c",
      overlay("together", { "infra:blueprint": "fastapi", "infra:domain": "example.com", "infra:privateNetwork": PRIVATE_NETWORK, "infra:servers": together }),
    );
    expect(result.stderr).not.toContain("cannot be scraped");
  });
});

describe("a blueprint whose monitoring design cannot be built", () => {
  // A blueprint's own mistakes are no stack's to fix; they are named as the blueprint's, as the platform model names its other ones.
  const broken: Blueprint = {
    ...fastapi,
    name: "broken",
    build(environment) {
      const spec = fastapi.build(environment);
      const own = spec.services.filter((service) => !spec.monitoring!.services.includes(service.name));
      const design = { ...FASTAPI_MONITORING, memoryMb: memoryLimits({ ...FASTAPI_MONITORING.memoryMb, loki: 0, cadvisor: 0 }) };
      const routes = [...spec.routes, { subdomain: "logs", service: "loki", port: 3100 }];
      return {
        ...spec,
        ...monitoredPlatform({ blueprint: "broken", environment, design, ingress: "nginx", namePrefix: "fastapi", routes, services: () => own }),
      };
    },
  };
  const problemsOf = (changes: Record<string, string>) => {
    const config = validateStackConfig(rawConfigWithSecrets({ "infra:blueprint": "fastapi", ...changes }), BLUEPRINT_CATALOG).config;
    try {
      planPlatform(config, broken);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error("planned");
  };

  it("reports every problem of its design, and the stack's own, in one error", () => {
    const problems = problemsOf({
      "infra:privateNetwork": JSON.stringify(PRIVATE_NETWORK),
      "infra:servers": JSON.stringify(MONITORING_APART),
      "infra:ingress": JSON.stringify({ routes: [{ subdomain: "db", service: "postgres" }] }),
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "blueprint broken", message: "the monitoring design gives loki no memory limit" },
        { path: "blueprint broken", message: "the monitoring design gives cadvisor no memory limit" },
        { path: "blueprint broken", message: "route logs serves loki, which has no login, without basic_auth" },
        {
          path: "infra:servers[0].roles",
          message: "backend on web cannot be scraped from watch: it is not published on a private address (reachableFromPeers)",
        },
        expect.objectContaining({ path: "infra:ingress.routes[0].service" }),
      ]),
    );
  });

  it("on one server only the blueprint's problems remain, the monitoring design's beside the platform model's own", () => {
    expect(problemsOf({})).toEqual([
      { path: "blueprint broken", message: "the monitoring design gives loki no memory limit" },
      { path: "blueprint broken", message: "the monitoring design gives cadvisor no memory limit" },
      { path: "blueprint broken", message: "route logs serves loki, which has no login, without basic_auth" },
      { path: "blueprint broken", message: "route logs targets loki, which shares no network with nginx (edge against internal)" },
    ]);
  });
});
