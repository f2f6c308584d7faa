import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { EXPORTER_SECRET_FILES } from "../../components/monitoring/alloy-config";
import { alloyExporterSecretFiles, logShipper, PROMTAIL_CONFIG_PATH, promtailConfig } from "../../components/monitoring/log-shipping";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { stackBuild } from "./stack-fixtures";
import { syntheticServices } from "./support";

/** What ships the logs: Alloy in seed 002's design, Promtail in the exporters design. */

describe("logShipper", () => {
  it("is Alloy for the Alloy design and Promtail, on every server, for the exporters design", () => {
    expect(logShipper(stackBuild({ design: VPAI_MONITORING })).name).toBe("alloy");
    const promtail = logShipper(stackBuild());
    expect(promtail).toMatchObject({ name: "promtail", placement: "host", dependsOn: ["loki"] });
    expect(promtail.files.map((file) => file.path)).toEqual([PROMTAIL_CONFIG_PATH]);
  });

  it("Alloy waits for the store it writes to and carries the exporters' credentials as files", () => {
    const alloy = logShipper(stackBuild({ design: VPAI_MONITORING }));
    expect(alloy.dependsOn).toEqual(["victoriametrics", "loki"]);
    expect(alloy.secretFiles.map((file) => file.name)).toEqual([EXPORTER_SECRET_FILES.postgres]);
  });
});

describe("alloyExporterSecretFiles", () => {
  it("builds PostgreSQL's connection from the declaration, and Redis's password only when it has one", () => {
    const services = syntheticServices().map((other) =>
      other.name === "redis" ? { ...other, exporter: { kind: "redis" as const, passwordSecret: "infra:redisPassword" } } : other,
    );
    expect(alloyExporterSecretFiles(services)).toEqual([
      {
        name: EXPORTER_SECRET_FILES.postgres,
        content: { secretTemplate: "postgresql://postgres:{{infra:postgresPassword}}@postgres:5432/postgres?sslmode=disable" },
        uid: 0,
      },
      { name: EXPORTER_SECRET_FILES.redis, content: { secret: "infra:redisPassword" }, uid: 0 },
    ]);
    expect(alloyExporterSecretFiles(syntheticServices().filter((other) => other.name !== "postgres"))).toEqual([]);
  });
});

describe("promtailConfig", () => {
  it("listens on Promtail's port and pushes to Loki's", () => {
    const config = parse(promtailConfig({ promtail: 9081, loki: 3101 })) as { server: { http_listen_port: number }; clients: { url: string }[] };
    expect(config.server.http_listen_port).toBe(9081);
    expect(config.clients).toEqual([{ url: "http://loki:3101/loki/api/v1/push" }]);
  });
});
