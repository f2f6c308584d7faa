import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanResult } from "../../tools/plan/plan";
import { planOf, uploadOf } from "../support/plans";
import { freePort, waitUntilAnswering, type StartedServer } from "../support/processes";
import { requireTool } from "../support/tools";

/**
 * Seed 003's database check on the real blackbox_exporter: NextMavens'
 * generated module and probe target, with the portal's address moved to a
 * stand-in on 127.0.0.1 whose /api/health/db answers 200 while its database
 * is reachable and 503 once it is not (as the portal's own check does), and
 * whose other paths always answer 200. probe_success must follow the
 * database, not the portal's other pages.
 */
describe("NextMavens' database check on the real blackbox_exporter (seed 003)", () => {
  let plan: PlanResult;
  let portal: Server;
  let portalPort = 0;
  let exporter: StartedServer;
  let exporterPort = 0;
  let databaseReachable = true;

  beforeAll(async () => {
    plan = await planOf("prod", { overrides: ["blueprint=nextmavens"] });
    portal = createServer((incoming, response) => {
      response.statusCode = incoming.url === "/api/health/db" && !databaseReachable ? 503 : 200;
      response.end(response.statusCode === 200 ? "ok\n" : "database unreachable\n");
    });
    await new Promise<void>((resolve) => portal.listen(0, "127.0.0.1", resolve));
    portalPort = (portal.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), "blackbox-live-"));
    writeFileSync(join(dir, "blackbox.yml"), uploadOf(plan, "nextmavens-blackbox-exporter", "/etc/blackbox_exporter/config.yml"));
    exporterPort = await freePort();
    const child = spawn(
      requireTool("prometheus-blackbox-exporter"),
      [`--config.file=${join(dir, "blackbox.yml")}`, `--web.listen-address=127.0.0.1:${exporterPort}`],
      { stdio: "ignore" },
    );
    exporter = await waitUntilAnswering(child, `http://127.0.0.1:${exporterPort}/-/healthy`, dir);
    expect(exporter.answered).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await exporter?.stop();
    await new Promise((resolve) => portal?.close(resolve));
  });

  /** The probe the plan declares, pointed at `target` instead of the portal's Docker name: probe_success as the exporter reports it. */
  const probeSuccess = async (target?: string): Promise<number> => {
    const probe = plan.monitoring!.probed.find((candidate) => candidate.job === "database")!;
    const url = target ?? probe.target.replace("//developer-portal:3000", `//127.0.0.1:${portalPort}`);
    const response = await fetch(`http://127.0.0.1:${exporterPort}/probe?module=${probe.module}&target=${encodeURIComponent(url)}`);
    const value = /^probe_success (\d)$/m.exec(await response.text())?.[1];
    return Number(value);
  };

  it("succeeds while /api/health/db answers 200", async () => {
    databaseReachable = true;
    expect(await probeSuccess()).toBe(1);
  });

  it("fails once /api/health/db answers 503, though every other page of the portal still answers 200", async () => {
    databaseReachable = false;
    expect(await probeSuccess()).toBe(0);
    expect(await probeSuccess(`http://127.0.0.1:${portalPort}/api/health`)).toBe(1);
    databaseReachable = true;
  });

  it("fails when nothing answers at the portal's address", async () => {
    expect(await probeSuccess(`http://127.0.0.1:${await freePort()}/api/health/db`)).toBe(0);
  });
});
