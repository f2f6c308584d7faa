import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTool } from "../support/tools";
import { startRegistry, type Registry } from "./registry";
import { DOCKER } from "./vps";

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
