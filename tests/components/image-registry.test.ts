import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostPrepareScript } from "../../components/compute/host-setup";
import { mirroredReference, originReference, registryProblems } from "../../components/container/image-registry";
import { planOf, resourcesOf } from "../support/plans";
import { configProblemsOf, rawConfigWithSecrets } from "../support/stack-config";
import { shellcheck } from "../support/validators";

// infra:registry: every image comes from one registry (a pull-through mirror,
// or a closed network's registry), and Docker trusts that registry's own CA.

const CA = readFileSync(join(__dirname, "../fixtures/registry-ca.pem"), "utf8");
/** A server certificate signed by that CA: valid PEM, but not a CA. */
const LEAF = readFileSync(join(__dirname, "../fixtures/registry-leaf.pem"), "utf8");
const MIRROR = "registry.example.com:5000";

describe("mirroredReference", () => {
  it.each([
    ["postgres:16.6-alpine", `${MIRROR}/library/postgres:16.6-alpine`],
    ["docker.io/library/postgres:16.6-alpine", `${MIRROR}/library/postgres:16.6-alpine`],
    ["docker.io/postgres:16.6-alpine", `${MIRROR}/library/postgres:16.6-alpine`],
    ["index.docker.io/library/postgres:16.6-alpine", `${MIRROR}/library/postgres:16.6-alpine`],
    ["registry-1.docker.io/prom/prometheus:v2.55.1", `${MIRROR}/prom/prometheus:v2.55.1`],
    ["prom/prometheus:v2.55.1", `${MIRROR}/prom/prometheus:v2.55.1`],
    ["ghcr.io/fastapi-app/backend:1.0.0", `${MIRROR}/ghcr.io/fastapi-app/backend:1.0.0`],
    ["quay.io/prometheuscommunity/postgres-exporter:v0.16.0", `${MIRROR}/quay.io/prometheuscommunity/postgres-exporter:v0.16.0`],
    ["localhost/app:1", `${MIRROR}/localhost/app:1`],
    ["redis", `${MIRROR}/library/redis:latest`],
    ["GHCR.IO/fastapi-app/backend:1.0.0", `${MIRROR}/ghcr.io/fastapi-app/backend:1.0.0`],
    ["postgres:16@sha256:" + "a".repeat(64), `${MIRROR}/library/postgres:16@sha256:${"a".repeat(64)}`],
    ["postgres@sha256:" + "b".repeat(64), `${MIRROR}/library/postgres@sha256:${"b".repeat(64)}`],
  ])("%s → %s", (reference, mirrored) => {
    expect(mirroredReference(MIRROR, reference)).toBe(mirrored);
  });

  it.each(["localhost:5000/app:1", "my-registry:5000/team/app"])("refuses %s: a registry with a port cannot be a path element of the mirror", (reference) => {
    expect(() => mirroredReference(MIRROR, reference)).toThrow(/a registry with a port/);
  });

  it.each(["postgres:16.6-alpine", "prom/prometheus:v2.55.1", "ghcr.io/fastapi-app/backend:1.0.0", "gcr.io/cadvisor/cadvisor:v0.49.1", "library/team/app:1"])(
    "originReference undoes it for %s",
    (reference) => {
      expect(originReference(MIRROR, mirroredReference(MIRROR, reference))).toBe(reference);
    },
  );

  it("originReference leaves a reference from elsewhere, or a look-alike host, unchanged", () => {
    expect(originReference(MIRROR, "evil.example.com/registry.example.com:5000/crazymax/diun:4")).toBe("evil.example.com/registry.example.com:5000/crazymax/diun:4");
    expect(originReference(MIRROR, `${MIRROR}0/crazymax/diun:4`)).toBe(`${MIRROR}0/crazymax/diun:4`);
    expect(originReference(undefined, `${MIRROR}/crazymax/diun:4`)).toBe(`${MIRROR}/crazymax/diun:4`);
  });
});

describe("registryProblems", () => {
  it.each(["registry.example.com", "registry.example.com:5000", "10.0.0.5:5000", "[2001:db8::5]:5000", "localhost:5000"])("accepts %s", (host) => {
    expect(registryProblems({ host })).toEqual([]);
  });

  it.each([
    "https://registry.example.com",
    "registry.example.com/path",
    "user:pass@registry.example.com",
    "registry.example.com:0",
    "registry.example.com:65536",
    "256.1.1.1:5000",
    "2001:db8::5",
    "[2001:db8::zz]:5000",
    "registry_example.com",
    " registry.example.com",
    "registry.example.com\n:5000",
    "-registry.example.com",
    "",
  ])("refuses the host %j", (host) => {
    expect(registryProblems({ host })).toEqual([["host", expect.stringContaining("must be host[:port] alone")]]);
  });

  it("refuses a host that is not a string", () => {
    expect(registryProblems({ host: 5000 })).toEqual([["host", expect.stringContaining("must be host[:port] alone")]]);
  });

  it("accepts the PEM of a CA", () => {
    expect(registryProblems({ host: MIRROR, caCertificate: CA })).toEqual([]);
  });

  it.each([
    ["a server certificate", LEAF, /is not a CA certificate/],
    ["two certificates", `${CA}${CA}`, /must be one PEM certificate/],
    ["a private key", "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n", /must be one PEM certificate/],
    ["garbage between the markers", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", /must be one PEM certificate/],
    ["a number", 42, /must be one PEM certificate/],
  ])("refuses %s as caCertificate", (_what, caCertificate, message) => {
    expect(registryProblems({ host: MIRROR, caCertificate })).toEqual([["caCertificate", expect.stringMatching(message)]]);
  });
});

describe("infra:registry in a stack", () => {
  const registry = JSON.stringify({ host: MIRROR, caCertificate: CA });

  it("pulls every image of every container from the registry", async () => {
    for (const blueprint of ["vpai", "fastapi", "nextmavens"]) {
      const plan = await planOf("preprod", { overrides: [`blueprint=${blueprint}`, `registry=${registry}`] });
      const images = resourcesOf(plan, "docker:index/remoteImage:RemoteImage").map((resource) => String(resource.inputs.name));
      expect(images.length).toBeGreaterThan(5);
      expect(images.filter((image) => !image.startsWith(`${MIRROR}/`))).toEqual([]);
      expect(plan.hosts.flatMap((host) => host.services.map((service) => service.image)).filter((image) => !image.startsWith(`${MIRROR}/`))).toEqual([]);
    }
  });

  it("runs the backup's own client image from the registry too", async () => {
    const plan = await planOf("prod", { overrides: ["blueprint=nextmavens", `registry=${registry}`] });
    const install = resourcesOf(plan, "command:remote:Command").find((resource) => resource.name.endsWith("-backup-install"))!;
    expect(String(install.inputs.stdin)).toContain(`docker pull --quiet ${MIRROR}/library/postgres:`);
    expect(String(install.inputs.stdin)).not.toMatch(/docker pull --quiet 'postgres:/);
  });

  it("keeps the policy's image checks working: the mirror changes where images come from, not what they are", async () => {
    const plan = await planOf("prod", { overrides: [`registry=${registry}`] });
    expect(plan.policy.violations).toEqual([]);
    expect(plan.policy.waivers.length).toBe((await planOf("prod")).policy.waivers.length);
  });

  it("installs the registry's CA where Docker reads it, in a script shellcheck accepts", () => {
    const script = hostPrepareScript({ sshUser: "deploy", imageRegistry: { host: MIRROR, caCertificate: CA } });
    expect(script).toContain(`/etc/docker/certs.d/${MIRROR}/ca.crt`);
    expect(script).toContain(CA.trim());
    expect(shellcheck(script).output).toBe("");
    expect(hostPrepareScript({ sshUser: "deploy", imageRegistry: { host: MIRROR } })).not.toContain("certs.d");
  });

  it("reports every bad field of infra:registry with its path", () => {
    const problems = configProblemsOf(rawConfigWithSecrets({ "infra:registry": JSON.stringify({ host: "https://r.example.com", caCertificate: LEAF, mirror: true }) }, "preprod"));
    expect(problems.map((problem) => problem.path).sort()).toEqual(["infra:registry.caCertificate", "infra:registry.host", "infra:registry.mirror"]);
  });
});
