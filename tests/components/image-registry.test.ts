import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostPrepareScript } from "../../components/compute/host-setup";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
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

const HOST = "10.213.77.1:5000";
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("mirroredReference", () => {
  it.each([
    // Docker Hub: the path without a host, official images under library/.
    ["postgres:16.6-alpine", `${HOST}/library/postgres:16.6-alpine`],
    ["prom/prometheus:v2.55.1", `${HOST}/prom/prometheus:v2.55.1`],
    ["library/postgres:16", `${HOST}/library/postgres:16`],
    // Every spelling of the Hub lands on the same path.
    ["docker.io/library/postgres:16", `${HOST}/library/postgres:16`],
    ["docker.io/postgres:16", `${HOST}/library/postgres:16`],
    ["index.docker.io/library/postgres:16", `${HOST}/library/postgres:16`],
    ["DOCKER.IO/postgres:16", `${HOST}/library/postgres:16`],
    // Other registries: their host is the first path element.
    ["ghcr.io/fastapi-app/backend:1.0.0", `${HOST}/ghcr.io/fastapi-app/backend:1.0.0`],
    ["quay.io/prometheuscommunity/postgres-exporter:v0.16.0", `${HOST}/quay.io/prometheuscommunity/postgres-exporter:v0.16.0`],
    ["gcr.io/cadvisor/cadvisor:v0.49.1", `${HOST}/gcr.io/cadvisor/cadvisor:v0.49.1`],
    ["GHCR.io/fastapi-app/backend:1.0.0", `${HOST}/ghcr.io/fastapi-app/backend:1.0.0`],
    ["localhost/x:1", `${HOST}/localhost/x:1`],
    // One element is a Hub name even with a dot in it, as Docker parses it.
    ["ghcr.io", `${HOST}/library/ghcr.io:latest`],
    // Docker's own Hub endpoint is only a host to Docker, not the Hub.
    ["registry-1.docker.io/library/postgres:16", `${HOST}/registry-1.docker.io/library/postgres:16`],
    // No tag means latest; a digest is kept, with or without a tag.
    ["postgres", `${HOST}/library/postgres:latest`],
    ["ghcr.io/a/b", `${HOST}/ghcr.io/a/b:latest`],
    [`postgres@${DIGEST}`, `${HOST}/library/postgres@${DIGEST}`],
    [`postgres:16@${DIGEST}`, `${HOST}/library/postgres:16@${DIGEST}`],
    [`quay.io/x/y:t@${DIGEST}`, `${HOST}/quay.io/x/y:t@${DIGEST}`],
  ])("%s → %s", (reference, expected) => {
    expect(mirroredReference(HOST, reference)).toBe(expected);
  });

  it.each([
    ["localhost:5000/x", /registry with a port/],
    ["10.0.0.1:5000/app:1", /registry with a port/],
    ["ghcr.io/Fastapi/backend:1", /lowercase/],
    ["Postgres:16", /lowercase/],
    ["", /not an image reference/],
    ["postgres:16 ", /not an image reference/],
    ["postgres:", /lowercase|not an image reference/],
    ["postgres@sha256:abc", /lowercase|not an image reference/],
    ["ghcr.io/../etc/passwd", /lowercase/],
    ["ghcr.io//x", /lowercase/],
    ["/postgres", /lowercase|not a registry host/],
    ["-bad.io/x", /not a registry host/],
  ])("refuses %j", (reference, problem) => {
    expect(() => mirroredReference(HOST, reference)).toThrow(problem);
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
    expect(originReference(MIRROR, "evil.example.com/registry.example.com:5000/crazymax/diun:4")).toBe(
      "evil.example.com/registry.example.com:5000/crazymax/diun:4",
    );
    expect(originReference(MIRROR, `${MIRROR}0/crazymax/diun:4`)).toBe(`${MIRROR}0/crazymax/diun:4`);
    expect(originReference(undefined, `${MIRROR}/crazymax/diun:4`)).toBe(`${MIRROR}/crazymax/diun:4`);
  });
});

describe("registryProblems", () => {
  it.each(["registry.example.com", "registry.example.com:5000", "10.0.0.5:5000", "[2001:db8::5]:5000", "[::ffff:10.0.0.5]:5000", "localhost:5000"])(
    "accepts %s",
    (host) => {
      expect(registryProblems({ host })).toEqual([]);
    },
  );

  it.each([
    "https://registry.example.com",
    "registry.example.com/path",
    "user:pass@registry.example.com",
    "registry.example.com:0",
    "registry.example.com:65536",
    "256.1.1.1:5000",
    "2001:db8::5",
    "[2001:db8::zz]:5000",
    // The deprecated IPv4-compatible form, which the kernel and parsers read differently (ip-ranges.ts).
    "[::1.2.3.4]:5000",
    "010.0.0.5:5000",
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
    [
      "a private key",
      "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n",
      /must be one PEM certificate/,
    ],
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
    const install = resourcesOf(plan, SSH_COMMAND_TYPE).find((resource) => resource.name.endsWith("-backup-install"))!;
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
    const problems = configProblemsOf(
      rawConfigWithSecrets({ "infra:registry": JSON.stringify({ host: "https://r.example.com", caCertificate: LEAF, mirror: true }) }, "preprod"),
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual(["infra:registry.caCertificate", "infra:registry.host", "infra:registry.mirror"]);
  });
});
