import { describe, expect, it } from "vitest";
import { containerSettings, goDuration } from "../../components/container/container-settings";
import { healthcheck, imageName, renderSecretTemplate, secretKeysOf, service } from "../../components/container/service-spec";

const base = service({
  name: "api",
  description: "test",
  role: "app",
  image: { repository: "example/api", tag: "1.2.3" },
  networks: ["backend"],
  healthcheck: healthcheck(["CMD", "true"], 15),
  memoryMb: 256,
});

describe("containerSettings", () => {
  it("applies the platform defaults to every container", () => {
    const settings = containerSettings(base);
    expect(settings).toMatchObject({
      memory: 256,
      memorySwap: 256,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      ulimits: [{ name: "nproc", soft: 256, hard: 256 }],
      healthcheck: { tests: ["CMD", "true"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "15s" },
      ports: [],
    });
  });

  it.each([
    ["unpublished port", [{ container: 8080 }], []],
    [
      "localhost publish",
      [{ container: 5432, publish: { host: 5432, address: "127.0.0.1" } }],
      [{ internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" }],
    ],
    [
      "udp publish",
      [{ container: 53, protocol: "udp" as const, publish: { host: 53, address: "0.0.0.0" } }],
      [{ internal: 53, external: 53, ip: "0.0.0.0", protocol: "udp" }],
    ],
  ])("ports: %s", (_case, ports, expected) => {
    expect(containerSettings({ ...base, ports }).ports).toEqual(expected);
  });

  it("maps files, binds, tmpfs, user and on-failure retries", () => {
    const settings = containerSettings({
      ...base,
      restart: "on-failure",
      user: "1000",
      tmpfs: ["/tmp"],
      files: [{ path: "/etc/app.conf", content: "x" }],
      binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
    });
    expect(settings.maxRetryCount).toBe(5);
    expect(settings.user).toBe("1000");
    expect(settings.tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=64m" });
    expect(settings.uploads).toEqual([{ file: "/etc/app.conf", content: "x", executable: false }]);
    expect(settings.binds).toEqual([{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }]);
  });
});

describe("service spec helpers", () => {
  it.each([
    ["plain", "x", []],
    ["secret", { secret: "infra:a" }, ["infra:a"]],
    ["template", { secretTemplate: "postgresql://u:{{infra:a}}@h/{{infra:b}}" }, ["infra:a", "infra:b"]],
  ])("secretKeysOf %s", (_case, value, expected) => {
    expect(secretKeysOf(value)).toEqual(expected);
  });

  it("imageName pins tag and optional digest", () => {
    expect(imageName({ repository: "redis", tag: "7.4.1-alpine" })).toBe("redis:7.4.1-alpine");
    expect(imageName({ repository: "redis", tag: "7.4.1", digest: "sha256:abc" })).toBe("redis:7.4.1@sha256:abc");
  });
});

describe("published ports", () => {
  it("default to 127.0.0.1 when the spec names no address", () => {
    expect(containerSettings({ ...base, ports: [{ container: 9090, publish: { host: 9090 } }] }).ports).toEqual([
      { internal: 9090, external: 9090, ip: "127.0.0.1", protocol: "tcp" },
    ]);
  });
});

describe("goDuration", () => {
  // The Docker provider reads health-check durations back as Go prints them;
  // any other spelling of the same value shows as a change on every deploy.
  it.each([
    [0, "0s"],
    [5, "5s"],
    [30, "30s"],
    [60, "1m0s"],
    [90, "1m30s"],
    [120, "2m0s"],
    [3600, "1h0m0s"],
    [3661, "1h1m1s"],
    [7322, "2h2m2s"],
  ])("%i seconds is %s", (seconds, printed) => {
    expect(goDuration(seconds)).toBe(printed);
  });
});

describe("renderSecretTemplate (V4)", () => {
  const hostile = "ab/cd+ef=@g:h?i#j%k&l m";

  it("percent-encodes every secret placed in a URL, so the URL parses back to the same parts", () => {
    const url = renderSecretTemplate("postgresql://postgres:{{infra:postgresPassword}}@postgres:5432/app", { "infra:postgresPassword": hostile });
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.password)).toBe(hostile);
    expect([parsed.username, parsed.hostname, parsed.port, parsed.pathname]).toEqual(["postgres", "postgres", "5432", "/app"]);
  });

  it.each(["redis://:{{k}}@redis:6379/1", "postgres://u:{{k}}@pgbouncer:6432/pgbouncer?sslmode=disable", "POSTGRESQL://u:{{k}}@h/d"])(
    "encodes in %s",
    (template) => {
      const url = new URL(renderSecretTemplate(template, { k: hostile }));
      expect(decodeURIComponent(url.password)).toBe(hostile);
    },
  );

  it("leaves a value outside a URL as it is (an htpasswd line)", () => {
    expect(renderSecretTemplate("admin:{{k}}", { k: "$2y$10$abc/def" })).toBe("admin:$2y$10$abc/def");
  });

  it("refuses a placeholder without a value instead of leaving it in", () => {
    expect(() => renderSecretTemplate("redis://:{{k}}@redis", {})).toThrow(/no value for \{\{k\}\}/);
  });
});
