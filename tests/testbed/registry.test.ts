import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTool } from "../support/tools";
import { mirroredReference, startRegistry, type Registry } from "./registry";
import { DOCKER } from "./vps";

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
});

describe("the testbed registry on 127.0.0.1", () => {
  let registry: Registry;
  const local = "infra-testbed/registry-probe:1";
  const scratch = mkdtempSync(join(tmpdir(), "infra-registry-test-"));

  beforeAll(async () => {
    execFileSync("bash", [`${__dirname}/../../tools/testbed/docker-engine.sh`], { stdio: "inherit" });
    // A one-file image: enough to push and pull back.
    writeFileSync(join(scratch, "probe"), "probe\n");
    execFileSync("bash", ["-c", `tar -C '${scratch}' -c probe | ${DOCKER} import - ${local} >/dev/null`]);
    registry = await startRegistry("127.0.0.1");
  });

  afterAll(async () => {
    await registry?.stop();
    spawnSync(DOCKER, ["image", "rm", local]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves TLS from its own CA, trusted by this machine's engine while it runs", async () => {
    const curl = requireTool("curl");
    const refused = spawnSync(curl, ["-sS", "-o", "/dev/null", `https://${registry.host}/v2/`], { encoding: "utf8" });
    expect(refused.status).toBe(60); // curl: the peer's certificate cannot be verified
    expect(existsSync(`/etc/docker/certs.d/${registry.host}/ca.crt`)).toBe(true);
    const pushed = await registry.push(local, "library/registry-probe:1");
    expect(pushed).toBe(`${registry.host}/library/registry-probe:1`);
    const caFile = join(scratch, "ca.crt");
    writeFileSync(caFile, registry.caCertificate);
    const tags = spawnSync(curl, ["-sS", "--cacert", caFile, `https://${registry.host}/v2/library/registry-probe/tags/list`], { encoding: "utf8" });
    expect(JSON.parse(tags.stdout)).toEqual({ name: "library/registry-probe", tags: ["1"] });
    // The engine pulls it back by the registry's name.
    const pulled = spawnSync(DOCKER, ["pull", "--quiet", pushed], { encoding: "utf8" });
    expect(pulled.status, pulled.stderr).toBe(0);
    spawnSync(DOCKER, ["image", "rm", pushed]);
  });

  it("stop removes the engine's trust in it", async () => {
    const host = registry.host;
    await registry.stop();
    expect(existsSync(`/etc/docker/certs.d/${host}`)).toBe(false);
  });
});
