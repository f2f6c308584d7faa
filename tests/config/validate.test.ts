import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { validateStackConfig, type RawConfig } from "../../infra/config/validate";
import { ConfigError } from "../../infra/config/errors";
import { completeRawConfig, rawConfigWithSecrets, TEST_BCRYPT_HASH, TEST_HOST_KEY, configProblemsOf } from "../support/stack-config";

const problemsOf = configProblemsOf;

const servers = (list: unknown[]) => JSON.stringify(list);
const existing = { name: "main", provider: "existing", address: "203.0.113.20", sshUser: "deploy", memoryMb: 16384, hostKey: TEST_HOST_KEY };

describe("stack config validation (V1, V2)", () => {
  it("accepts both shipped stacks and fills defaults in one place", () => {
    const prod = validateStackConfig(completeRawConfig("prod"), BLUEPRINT_CATALOG).config;
    expect(prod.servers[0]).toMatchObject({ provider: "existing", sshPort: 22, roles: ["ingress", "app", "data", "monitoring"] });
    expect(prod.protect).toBe(true);
    const preprod = validateStackConfig(completeRawConfig("preprod"), BLUEPRINT_CATALOG).config;
    expect(preprod.servers[0]).toMatchObject({ provider: "hetzner", serverType: "cx23", image: "ubuntu-24.04" });
    expect(preprod.protect).toBe(false);
  });

  it.each([
    ["infra:blueprint", undefined, "infra:blueprint", "is required"],
    ["infra:blueprint", "wordpress", "infra:blueprint", "is not one of vpai"],
    ["infra:environment", "Prod!", "infra:environment", "lowercase DNS label"],
    ["infra:domain", "localhost", "infra:domain", "DNS name"],
    ["infra:adminCidrs", JSON.stringify(["0.0.0.0/0"]), "infra:adminCidrs[0]", "F1"],
    ["infra:adminCidrs", JSON.stringify(["::/0"]), "infra:adminCidrs[0]", "F1"],
    ["infra:adminCidrs", JSON.stringify(["10.0.0.300/32"]), "infra:adminCidrs[0]", "not a CIDR"],
    ["infra:adminCidrs", JSON.stringify([]), "infra:adminCidrs", "at least one admin CIDR"],
    ["infra:adminCidrs", "198.51.100.7/32", "infra:adminCidrs", "YAML list or object"],
    ["infra:protect", "yes", "infra:protect", "true or false"],
    ["infra:disposable", "yes", "infra:disposable", "true or false"],
    ["infra:servers", servers([]), "infra:servers", "at least one server"],
    ["infra:servers", servers([{ ...existing, provider: "ovh" }]), "infra:servers[0].provider", "not one of hetzner, existing"],
    ["infra:servers", servers([{ ...existing, memoryMb: undefined }]), "infra:servers[0].memoryMb", "is required"],
    ["infra:servers", servers([{ ...existing, memoryMb: 100 }]), "infra:servers[0].memoryMb", "from 512"],
    ["infra:servers", servers([{ ...existing, address: "not an address!" }]), "infra:servers[0].address", "IPv4/IPv6"],
    ["infra:servers", servers([{ ...existing, colour: "blue" }]), "infra:servers[0].colour", "unknown field"],
    ["infra:servers", servers([{ ...existing, roles: ["web"] }]), "infra:servers[0].roles[0]", "not a role"],
    ["infra:servers", servers([{ ...existing, roles: ["app"] }]), "infra:servers", 'role "ingress"'],
    ["infra:servers", servers([existing, existing]), "infra:servers[1].name", "unique"],
    [
      "infra:servers",
      servers([{ name: "pre", provider: "hetzner", serverType: "cx99", location: "fsn1", sshPublicKey: "ssh-ed25519 AAAA" }]),
      "infra:servers[0].serverType",
      "cx23",
    ],
    [
      "infra:servers",
      servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "mars1", sshPublicKey: "ssh-ed25519 AAAA" }]),
      "infra:servers[0].location",
      "fsn1",
    ],
    [
      "infra:servers",
      servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "fsn1", sshPublicKey: "hunter2" }]),
      "infra:servers[0].sshPublicKey",
      "OpenSSH public key",
    ],
    ["infra:dns", JSON.stringify({ zoneId: "example.com" }), "infra:dns.zoneId", "32-character hex"],
    ["infra:dns", JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: "yes" }), "infra:dns.proxied", "true or false"],
    [
      "infra:storage",
      JSON.stringify({ endpoint: "fsn1.your-objectstorage.com", region: "fsn1", bucketPrefix: "vpai" }),
      "infra:storage.endpoint",
      "is not a URL (expected e.g. https://fsn1.your-objectstorage.com)",
    ],
    ["infra:storage", JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "VPAI" }), "infra:storage.bucketPrefix", "lowercase"],
    [
      "infra:storage",
      JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "vpai", noncurrentVersionExpiryDays: 0 }),
      "infra:storage.noncurrentVersionExpiryDays",
      "from 1",
    ],
    ["infra:typo", "x", "infra:typo", "unknown key"],
  ])("%s = %s is rejected at %s", (key, value, path, message) => {
    const problems = problemsOf(completeRawConfig("prod", { [key]: value }));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("reports every problem at once, each with its key path, in one error", () => {
    const raw = completeRawConfig("prod", {
      "infra:blueprint": "nope",
      "infra:domain": "x",
      "infra:servers": servers([{ ...existing, memoryMb: "lots", sshPort: 70000 }]),
      "infra:storage": undefined,
    });
    let message = "";
    try {
      validateStackConfig(raw, BLUEPRINT_CATALOG);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^stack configuration has 5 problems:/);
    for (const path of ["infra:blueprint", "infra:domain", "infra:servers[0].memoryMb", "infra:servers[0].sshPort", "infra:storage"]) {
      expect(message).toContain(`  - ${path}: `);
    }
    expect(message).toContain("is not one of vpai");
  });

  it("refuses an admin CIDR with host bits set, naming the network it would stand for", () => {
    const problems = problemsOf(
      completeRawConfig("prod", { "infra:adminCidrs": JSON.stringify(["198.51.100.7/24", "2001:db8::1/64", "198.51.100.7/32", "2001:db8::/64"]) }),
    );
    expect(problems).toEqual([
      {
        path: "infra:adminCidrs[0]",
        message: '"198.51.100.7/24" has host bits set past /24: write the network 198.51.100.0/24, or 198.51.100.7/32 for that one address',
      },
      {
        path: "infra:adminCidrs[1]",
        message: '"2001:db8::1/64" has host bits set past /64: write the network 2001:db8::/64, or 2001:db8::1/128 for that one address',
      },
    ]);
  });

  it("refuses odd spellings of an admin CIDR, naming its path and the plain form", () => {
    const problems = problemsOf(
      completeRawConfig("prod", {
        "infra:adminCidrs": JSON.stringify([
          "198.51.100.7/32",
          "203.0.113.0/024",
          "2001:DB8::/48",
          "2001:0db8:0001::/48",
          "::ffff:203.0.113.10/128",
          "203.000.113.010/32",
          "0x7f.0.0.1/32",
          "fe80::1%eth0/128",
        ]),
      }),
    );
    expect(problems).toEqual([
      { path: "infra:adminCidrs[1]", message: '"203.0.113.0/024" is written oddly: write 203.0.113.0/24' },
      { path: "infra:adminCidrs[2]", message: '"2001:DB8::/48" is written oddly: write 2001:db8::/48' },
      { path: "infra:adminCidrs[3]", message: '"2001:0db8:0001::/48" is written oddly: write 2001:db8:1::/48' },
      { path: "infra:adminCidrs[4]", message: '"::ffff:203.0.113.10/128" is an IPv4 address in IPv6 form: write 203.0.113.10/32' },
      {
        path: "infra:adminCidrs[5]",
        message:
          '"203.000.113.010/32" is not a CIDR such as 203.0.113.10/32 or 2001:db8::/48 (IPv4 as four decimal numbers without leading zeros, IPv6 without a zone id)',
      },
      {
        path: "infra:adminCidrs[6]",
        message:
          '"0x7f.0.0.1/32" is not a CIDR such as 203.0.113.10/32 or 2001:db8::/48 (IPv4 as four decimal numbers without leading zeros, IPv6 without a zone id)',
      },
      {
        path: "infra:adminCidrs[7]",
        message:
          '"fe80::1%eth0/128" is not a CIDR such as 203.0.113.10/32 or 2001:db8::/48 (IPv4 as four decimal numbers without leading zeros, IPv6 without a zone id)',
      },
    ]);
  });

  it.each([
    [["0.0.0.0/00"], "infra:adminCidrs[0]", /every IPv4 address/],
    [["::/00"], "infra:adminCidrs[0]", /every IPv6 address/],
    [["::ffff:0:0/96"], "infra:adminCidrs[0]", /every IPv4 address/],
    [["198.51.100.7/32", "0.0.0.0/1", "128.0.0.0/1"], "infra:adminCidrs", /together they cover every IPv4 address/],
    [["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], "infra:adminCidrs", /together they cover every IPv4 address/],
    [["::/1", "8000::/1"], "infra:adminCidrs", /together they cover every IPv4 address and every IPv6 address/],
    [["::/1", "8000::/1"], "infra:adminCidrs[1]", /covers 170,141,183,460,469,231,731,687,303,715,884,105,728 IPv6 addresses, more than a \/32/],
    [
      ["2001:db8::/33", "2001:db8:8000::/33", "2001:db9::/32"],
      "infra:adminCidrs",
      /together they cover 158,456,325,028,528,675,187,087,900,672 IPv6 addresses, more than a \/32/,
    ],
    [["10.0.0.0/8", "11.0.0.0/8"], "infra:adminCidrs", /more than a \/8/],
  ])("refuses admin CIDRs %j that open SSH far too wide (F1), at %s", (adminCidrs, path, message) => {
    const problems = problemsOf(completeRawConfig("prod", { "infra:adminCidrs": JSON.stringify(adminCidrs) }));
    expect(
      problems
        .filter((problem) => problem.path === path)
        .map((problem) => problem.message)
        .join("\n"),
    ).toMatch(message);
    expect(problems.find((problem) => problem.path === path)!.message).toMatch(/\(F1 allows at most a \/8 of IPv4 and a \/32 of IPv6\)/);
  });

  it("refuses a secret stored in plain text, naming the key (V2)", () => {
    const problems = problemsOf(completeRawConfig("prod", {}, ["infra:postgresPassword", "cloudflare:apiToken"]));
    expect(problems.map((problem) => problem.path).sort()).toEqual(["cloudflare:apiToken", "infra:postgresPassword"]);
    for (const problem of problems) {
      expect(problem.message).toContain("stored in plain text (V2)");
      expect(problem.message).toContain(`pulumi config set --secret ${problem.path}`);
    }
  });

  it("requires every secret the blueprint and the servers need", () => {
    const problems = problemsOf(completeRawConfig("preprod", { "infra:grafanaAdminPassword": undefined, "hcloud:token": undefined }));
    expect(problems.map((problem) => problem.path).sort()).toEqual(["hcloud:token", "infra:grafanaAdminPassword"]);
    expect(problems[0]!.message).toContain("pulumi config set --secret");
  });

  it("asks for the Hetzner token only when a server is provisioned on Hetzner", () => {
    // Prod's VPS is adopted; only its ops host (infra:opsHost) is a Hetzner server.
    expect(() => validateStackConfig(completeRawConfig("prod", { "hcloud:token": undefined, "infra:opsHost": undefined }), BLUEPRINT_CATALOG)).not.toThrow();
    expect(() => validateStackConfig(completeRawConfig("prod", { "hcloud:token": undefined }), BLUEPRINT_CATALOG)).toThrow(
      /hcloud:token: required secret is not set/,
    );
  });
});

describe("SSH host keys of existing servers (H9)", () => {
  const withHostKey = (hostKey: unknown) => completeRawConfig("prod", { "infra:servers": servers([{ ...existing, hostKey }]) });
  const privateKey = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "-----END OPENSSH PRIVATE KEY-----",
  ].join("\n");

  it("pins the key without its comment", () => {
    const config = validateStackConfig(withHostKey(`${TEST_HOST_KEY} root@vps`), BLUEPRINT_CATALOG).config;
    expect(config.servers[0]).toMatchObject({ provider: "existing", hostKey: TEST_HOST_KEY });
  });

  it.each([
    ["missing", undefined, "is required: the server's public SSH host key, which the program pins (H9)"],
    ["a private key pasted by mistake", privateKey, "is a private key"],
    ["a known_hosts line", `203.0.113.20 ${TEST_HOST_KEY}`, "a host name in front"],
    ["an @cert-authority line", `@cert-authority * ${TEST_HOST_KEY}`, "known_hosts marker line"],
    ["two keys", `${TEST_HOST_KEY} ${TEST_HOST_KEY}`, "more than one key"],
    ["a type that does not match the key", TEST_HOST_KEY.replace("ssh-ed25519", "ssh-rsa"), 'says "ssh-rsa" but its key data is a "ssh-ed25519" key'],
    ["not a string", 42, "must be a string"],
  ])("refuses %s, and says how to obtain the key", (_name, hostKey, message) => {
    const problems = problemsOf(withHostKey(hostKey));
    expect(problems).toContainEqual({ path: "infra:servers[0].hostKey", message: expect.stringContaining(message) });
    const problem = problems.find((candidate) => candidate.path === "infra:servers[0].hostKey")!;
    expect(problem.message).toContain("ssh-keyscan -t ed25519 <address>");
    expect(problem.message).toContain("ssh-keygen -lf");
    // A message never repeats what was pasted: it may be a private key.
    expect(problem.message).not.toContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU");
  });

  it("refuses a host key on a Hetzner server, whose key the program generates", () => {
    const hetzner = { name: "main", provider: "hetzner", serverType: "cx23", location: "fsn1", sshPublicKey: TEST_HOST_KEY, hostKey: TEST_HOST_KEY };
    expect(problemsOf(completeRawConfig("preprod", { "infra:servers": servers([hetzner]) }))).toContainEqual({
      path: "infra:servers[0].hostKey",
      message: expect.stringContaining("generated by the program"),
    });
  });
});

describe("infra:monitoring (V1) and admin passwords", () => {
  const monitoring = (value: unknown) => ({ "infra:monitoring": JSON.stringify(value) });
  const email = { to: ["ops@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587" };

  it("fills every default in one place when the key is absent", () => {
    const config = validateStackConfig(completeRawConfig("prod", { "infra:monitoring": undefined }), BLUEPRINT_CATALOG).config;
    expect(config.monitoring).toMatchObject({ adminAccess: "tunnel", scrapeIntervalSeconds: 15, evaluationIntervalSeconds: 30, receivers: {} });
    expect(config.monitoring.thresholds).toMatchObject({
      diskFreeGb: 20,
      http5xxPercent: 5,
      http5xxForMinutes: 2,
      postgresConnectionsPercent: 80,
      redisMemoryPercent: 90,
      tlsExpiryDays: 14,
      backupRPOHours: 24,
    });
  });

  it.each([
    [{ adminAccess: "public" }, "infra:monitoring.adminAccess", "not one of tunnel, caddy"],
    [{ adminUser: "ad min" }, "infra:monitoring.adminUser", "letters, digits"],
    [{ scrapeIntervalSeconds: 1 }, "infra:monitoring.scrapeIntervalSeconds", "from 5 to 300"],
    [{ scrapeIntervalSeconds: 60, evaluationIntervalSeconds: 30 }, "infra:monitoring.evaluationIntervalSeconds", "shorter than scrapeIntervalSeconds"],
    [{ retentionDays: 0 }, "infra:monitoring.retentionDays", "from 1 to 3650"],
    [{ thresholds: { diskFreeGb: -1 } }, "infra:monitoring.thresholds.diskFreeGb", "from 1 to 100000"],
    [{ thresholds: { diskFullWithinHours: 1.5 } }, "infra:monitoring.thresholds.diskFullWithinHours", "an integer"],
    [{ thresholds: { memoryAvailablePercent: 100 } }, "infra:monitoring.thresholds.memoryAvailablePercent", "from 1 to 99"],
    [{ thresholds: { containerDownMinutes: 0 } }, "infra:monitoring.thresholds.containerDownMinutes", "from 1 to 60"],
    [{ thresholds: { containerRestarts: "3" } }, "infra:monitoring.thresholds.containerRestarts", "an integer"],
    [{ thresholds: { restartWindowMinutes: 2000 } }, "infra:monitoring.thresholds.restartWindowMinutes", "from 1 to 1440"],
    [{ thresholds: { http5xxPercent: 0 } }, "infra:monitoring.thresholds.http5xxPercent", "from 0.1 to 100"],
    [{ thresholds: { http5xxForMinutes: 61 } }, "infra:monitoring.thresholds.http5xxForMinutes", "from 1 to 60"],
    [{ thresholds: { postgresConnectionsPercent: 120 } }, "infra:monitoring.thresholds.postgresConnectionsPercent", "from 1 to 100"],
    [{ thresholds: { redisMemoryPercent: 0 } }, "infra:monitoring.thresholds.redisMemoryPercent", "from 1 to 100"],
    [{ thresholds: { backupRPOHours: 1000 } }, "infra:monitoring.thresholds.backupRPOHours", "from 1 to 720"],
    [{ thresholds: { tlsExpiryDays: 30 } }, "infra:monitoring.thresholds.tlsExpiryDays", "from 1 to 29"],
    [{ thresholds: { probeFailedMinutes: 0 } }, "infra:monitoring.thresholds.probeFailedMinutes", "from 1 to 60"],
    [{ thresholds: { cpuPercent: 90 } }, "infra:monitoring.thresholds.cpuPercent", "unknown field"],
    [{ receivers: { email: { ...email, to: ["not-an-address"] } } }, "infra:monitoring.receivers.email.to[0]", "email address"],
    [{ receivers: { email: { ...email, to: [] } } }, "infra:monitoring.receivers.email.to", "non-empty list"],
    [{ receivers: { email: { ...email, smarthost: "smtp.example.com" } } }, "infra:monitoring.receivers.email.smarthost", "host:port"],
    [{ receivers: { email: { ...email, password: "hunter2" } } }, "infra:monitoring.receivers.email.password", "secret"],
    [{ receivers: { slack: { channel: "alerts" } } }, "infra:monitoring.receivers.slack.channel", "#alerts"],
    [{ receivers: { slack: { channel: "#alerts", webhookUrl: "https://hooks.slack.com/x" } } }, "infra:monitoring.receivers.slack.webhookUrl", "V2"],
    [{ receivers: { webhook: { url: "http://hooks.example.com/a" } } }, "infra:monitoring.receivers.webhook.url", "https"],
    [{ receivers: { webhook: { url: "https://hooks.example.com/a?token=abc" } } }, "infra:monitoring.receivers.webhook.url", "no credentials"],
    [{ receivers: { pagerduty: {} } }, "infra:monitoring.receivers.pagerduty", "unknown field"],
    ["caddy", "infra:monitoring", "must be an object"],
  ])("%j is rejected at %s", (value, path, message) => {
    const problems = problemsOf(completeRawConfig("prod", monitoring(value)));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("reports every bad monitoring value at once", () => {
    const problems = problemsOf(completeRawConfig("prod", monitoring({ adminAccess: "open", thresholds: { diskFreeGb: 0, tlsExpiryDays: 90 } })));
    expect(problems.map((problem) => problem.path)).toEqual(
      expect.arrayContaining(["infra:monitoring.adminAccess", "infra:monitoring.thresholds.diskFreeGb", "infra:monitoring.thresholds.tlsExpiryDays"]),
    );
  });

  it("asks for the secrets the choices bring: the admin password for caddy, the SMTP password with a user name", () => {
    const raw = completeRawConfig(
      "prod",
      monitoring({ adminAccess: "caddy", receivers: { email: { ...email, username: "alerts" }, slack: { channel: "#ops" } } }),
    );
    for (const key of ["infra:monitoringAdminPassword", "infra:alertSmtpPassword", "infra:alertSlackWebhookUrl"])
      delete (raw.values as Record<string, string>)[key];
    expect(
      problemsOf(raw)
        .map((problem) => problem.path)
        .sort(),
    ).toEqual(["infra:alertSlackWebhookUrl", "infra:alertSmtpPassword", "infra:monitoringAdminPassword"]);
  });

  it.each(["admin123", "admin", "", "   ", "Password", "short"])("refuses %j as Grafana's admin password (seed 000), without repeating it", (value) => {
    const problems = problemsOf(completeRawConfig("prod", { "infra:grafanaAdminPassword": value }));
    expect(problems).toEqual([{ path: "infra:grafanaAdminPassword", message: expect.stringContaining("well-known default") }]);
    if (value.trim()) expect(problems[0]!.message).not.toContain(`"${value}"`);
  });

  it("refuses a default password for the Caddy basic_auth of the admin UIs", () => {
    const problems = problemsOf(completeRawConfig("prod", { "infra:monitoringAdminPassword": "changeme" }));
    expect(problems.map((problem) => problem.path)).toEqual(["infra:monitoringAdminPassword"]);
  });

  it("accepts the offline plan's [secret] placeholder and a strong password", () => {
    expect(() =>
      validateStackConfig(
        completeRawConfig("prod", { "infra:grafanaAdminPassword": "[secret]", "infra:monitoringAdminPassword": "[secret]" }),
        BLUEPRINT_CATALOG,
      ),
    ).not.toThrow();
    expect(() => validateStackConfig(completeRawConfig("prod", { "infra:grafanaAdminPassword": "t7#Kq9!vR2mZ" }), BLUEPRINT_CATALOG)).not.toThrow();
  });
});

describe("bcrypt hashes for the nginx and Traefik basic auth", () => {
  const withIngressAdmin = (hash: string) =>
    rawConfigWithSecrets({ "infra:monitoring": JSON.stringify({ adminAccess: "ingress" }), "infra:monitoringAdminPasswordHash": hash });

  it.each([
    ["the password itself", "correct-horse-battery"],
    ["an htpasswd line, user included", `admin:${TEST_BCRYPT_HASH}`],
    ["an MD5 (apr1) hash", "$apr1$w8MbVuAB$kmVP1lDgSZUxUzQdz3.Gv/"],
    ["a truncated bcrypt hash", TEST_BCRYPT_HASH.slice(0, -4)],
  ])("refuses %s as infra:monitoringAdminPasswordHash, without repeating it", (_case, value) => {
    const problems = problemsOf(withIngressAdmin(value));
    expect(problems).toEqual([{ path: "infra:monitoringAdminPasswordHash", message: expect.stringContaining("is not a bcrypt hash") }]);
    expect(problems[0]!.message).not.toContain(value);
  });

  it("accepts a bcrypt hash of any variant htpasswd and caddy make, and the offline plan's placeholder", () => {
    for (const value of [TEST_BCRYPT_HASH, TEST_BCRYPT_HASH.replace("$2y$", "$2a$"), TEST_BCRYPT_HASH.replace("$2y$10$", "$2b$14$"), "[secret]"]) {
      expect(() => validateStackConfig(withIngressAdmin(value), BLUEPRINT_CATALOG), value).not.toThrow();
    }
  });

  it("checks Supabase Studio's hash the same way (seed 000)", () => {
    const problems = problemsOf(rawConfigWithSecrets({ "infra:blueprint": "ai-video", "infra:supabaseStudioPasswordHash": "supabase" }));
    expect(problems.map((problem) => problem.path)).toEqual(["infra:supabaseStudioPasswordHash"]);
  });
});

describe("infra:backup and the backup secrets", () => {
  const backup = (value: unknown) => ({ "infra:backup": JSON.stringify(value) });

  it("fills every default when infra:backup is absent, and keeps what a stack sets", () => {
    const defaults = validateStackConfig(completeRawConfig("prod", { "infra:backup": undefined }), BLUEPRINT_CATALOG).config.backup;
    expect(defaults).toEqual({
      schedule: "02:55",
      retention: { daily: 7, weekly: 4, monthly: 6, yearly: 2 },
      checkSubsets: 30,
      pitr: { enabled: false, archiveTimeoutSeconds: 60 },
    });
    const custom = validateStackConfig(
      completeRawConfig("prod", backup({ schedule: "04:10", retention: { daily: 14 }, pitr: { enabled: true, archiveTimeoutSeconds: 30 } })),
      BLUEPRINT_CATALOG,
    ).config.backup;
    expect(custom).toEqual({
      schedule: "04:10",
      retention: { daily: 14, weekly: 4, monthly: 6, yearly: 2 },
      checkSubsets: 30,
      pitr: { enabled: true, archiveTimeoutSeconds: 30 },
    });
  });

  it.each([
    [{ schedule: "2:55" }, "infra:backup.schedule", "HH:MM"],
    [{ schedule: "24:00" }, "infra:backup.schedule", "HH:MM"],
    [{ schedule: 255 }, "infra:backup.schedule", "must be a string"],
    [{ retention: { daily: 0 } }, "infra:backup.retention.daily", "at least 1 daily"],
    [{ retention: { weekly: -1 } }, "infra:backup.retention.weekly", "from 0 to 1000"],
    [{ retention: { monthly: 1.5 } }, "infra:backup.retention.monthly", "an integer"],
    [{ retention: { yearly: "2" } }, "infra:backup.retention.yearly", "an integer"],
    [{ retention: { hourly: 24 } }, "infra:backup.retention.hourly", "unknown field"],
    [{ retention: [7, 4, 6, 2] }, "infra:backup.retention", "must be an object"],
    [{ checkSubsets: 0 }, "infra:backup.checkSubsets", "from 1 to 365"],
    [{ pitr: { enabled: "yes" } }, "infra:backup.pitr.enabled", "true or false"],
    [{ pitr: { archiveTimeoutSeconds: 300 } }, "infra:backup.pitr.archiveTimeoutSeconds", "from 1 to 60"],
    [{ pitr: { archiveTimeoutSeconds: 0 } }, "infra:backup.pitr.archiveTimeoutSeconds", "from 1 to 60"],
    [{ heartbeatUrl: "https://uptime.example.com/api/push/abc" }, "infra:backup.heartbeatUrl", "pulumi config set --secret infra:backupHeartbeatUrl"],
    [{ timezone: "UTC" }, "infra:backup.timezone", "unknown field"],
    ["02:55", "infra:backup", "must be an object"],
  ])("%j is rejected at %s", (value, path, message) => {
    expect(problemsOf(completeRawConfig("prod", backup(value)))).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("reports every bad backup value at once", () => {
    const problems = problemsOf(
      completeRawConfig("prod", backup({ schedule: "noon", retention: { daily: 0, weekly: "x" }, checkSubsets: 1000, pitr: { archiveTimeoutSeconds: 61 } })),
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      "infra:backup.checkSubsets",
      "infra:backup.pitr.archiveTimeoutSeconds",
      "infra:backup.retention.daily",
      "infra:backup.retention.weekly",
      "infra:backup.schedule",
    ]);
  });

  it("requires the restic password as a secret (S4, V2)", () => {
    expect(problemsOf(completeRawConfig("prod", { "infra:resticPassword": undefined }))).toContainEqual({
      path: "infra:resticPassword",
      message: expect.stringContaining("pulumi config set --secret infra:resticPassword"),
    });
    expect(problemsOf(completeRawConfig("prod", {}, ["infra:resticPassword"]))).toContainEqual({
      path: "infra:resticPassword",
      message: expect.stringContaining("plain text (V2)"),
    });
  });

  it("takes the heartbeat URL only as a secret, checks its form without echoing it, and loads it when set", () => {
    const url = "https://uptime.example.com/api/push/planted-token-5e1d";
    expect(problemsOf(completeRawConfig("prod", { "infra:backupHeartbeatUrl": url }, ["infra:backupHeartbeatUrl"]))).toContainEqual({
      path: "infra:backupHeartbeatUrl",
      message: expect.stringContaining("plain text (V2)"),
    });
    const asSecret = (raw: RawConfig): RawConfig => ({ values: raw.values, secretKeys: new Set([...raw.secretKeys, "infra:backupHeartbeatUrl"]) });
    const raw = asSecret(completeRawConfig("prod", { "infra:backupHeartbeatUrl": url }));
    expect(validateStackConfig(raw, BLUEPRINT_CATALOG).secrets.map((secret) => secret.key)).toContain("infra:backupHeartbeatUrl");
    const bad = asSecret(completeRawConfig("prod", { "infra:backupHeartbeatUrl": "ftp://planted-token" }));
    const problems = problemsOf(bad);
    expect(problems).toContainEqual({ path: "infra:backupHeartbeatUrl", message: expect.stringContaining("http(s) URL") });
    expect(JSON.stringify(problems)).not.toContain("planted-token");
    // Optional: a stack without one is complete.
    expect(validateStackConfig(completeRawConfig("prod"), BLUEPRINT_CATALOG).secrets.map((secret) => secret.key)).not.toContain("infra:backupHeartbeatUrl");
  });
});

describe("infra:storage: whatever the bucket component would refuse is refused here, with the key path (V1, V5)", () => {
  const storage = (fields: Record<string, unknown>) => ({
    "infra:storage": JSON.stringify({ endpoint: "https://fsn1.your-objectstorage.com", region: "fsn1", bucketPrefix: "vpai", ...fields }),
  });
  const PASSWORD = "planted-Pw7q";

  it.each([
    ["a fragment", { endpoint: "https://fsn1.your-objectstorage.com/#frag" }, "infra:storage.endpoint", "has a path, query or fragment"],
    ["a bare fragment", { endpoint: "https://fsn1.your-objectstorage.com#" }, "infra:storage.endpoint", "has a path, query or fragment"],
    ["a query string", { endpoint: "https://fsn1.your-objectstorage.com?versionId=1" }, "infra:storage.endpoint", "has a path, query or fragment"],
    ["a path", { endpoint: "https://fsn1.your-objectstorage.com/vpai-backups" }, "infra:storage.endpoint", "has a path, query or fragment"],
    ["credentials", { endpoint: `https://key:${PASSWORD}@fsn1.your-objectstorage.com` }, "infra:storage.endpoint", "embeds credentials"],
    ["a user name alone", { endpoint: "https://key@fsn1.your-objectstorage.com" }, "infra:storage.endpoint", "embeds credentials"],
    ["http with credentials", { endpoint: `http://key:${PASSWORD}@fsn1.your-objectstorage.com` }, "infra:storage.endpoint", "plain http to a remote host"],
    ["plain http to a remote host", { endpoint: "http://fsn1.your-objectstorage.com" }, "infra:storage.endpoint", "plain http to a remote host"],
    ["another scheme", { endpoint: "ftp://fsn1.your-objectstorage.com" }, "infra:storage.endpoint", "uses ftp"],
    ["a region that starts with a hyphen", { region: "-fsn1" }, "infra:storage.region", "region name"],
    ["a prefix S3 reserves for IDN names", { bucketPrefix: "xn--vpai" }, "infra:storage.bucketPrefix", 'start with "xn--", a prefix S3 reserves'],
    ["a prefix S3 reserves for access points", { bucketPrefix: "sthree-vpai" }, "infra:storage.bucketPrefix", 'start with "sthree-", a prefix S3 reserves'],
    [
      "a prefix that makes the reserved demo prefix",
      { bucketPrefix: "amzn-s3-demo" },
      "infra:storage.bucketPrefix",
      'start with "amzn-s3-demo-", a prefix S3 reserves',
    ],
  ])("%s is one problem, at its key path", (_case, fields, path, message) => {
    const problems = problemsOf(completeRawConfig("prod", storage(fields)));
    expect(problems).toEqual([{ path, message: expect.stringContaining(message) }]);
    expect(JSON.stringify(problems)).not.toContain(PASSWORD);
  });

  it("accepts a loopback endpoint over http, as the bucket component does (a local MinIO)", () => {
    expect(() =>
      validateStackConfig(completeRawConfig("prod", storage({ endpoint: "http://127.0.0.1:9000", forcePathStyle: true })), BLUEPRINT_CATALOG),
    ).not.toThrow();
  });
});

describe("a value that failed is reported once, not again through the checks that depend on it (V1)", () => {
  it.each([
    ["a memoryMb out of range", { "infra:servers": servers([{ ...existing, memoryMb: 100 }]) }, ["infra:servers[0].memoryMb"]],
    ["a memoryMb that is not a number", { "infra:servers": servers([{ ...existing, memoryMb: "16 GB" }]) }, ["infra:servers[0].memoryMb"]],
    ["a bad address", { "infra:servers": servers([{ ...existing, address: "not an address!" }]) }, ["infra:servers[0].address"]],
    ["an unknown provider", { "infra:servers": servers([{ ...existing, provider: "ovh" }]) }, ["infra:servers[0].provider"]],
    ["a server that is not an object", { "infra:servers": servers(["main"]) }, ["infra:servers[0]"]],
    [
      "one bad server of two",
      {
        "infra:servers": servers([
          { ...existing, memoryMb: 100, roles: ["data"] },
          { ...existing, name: "web", address: "203.0.113.21", roles: ["ingress", "app", "monitoring"] },
        ]),
      },
      ["infra:servers[0].memoryMb"],
    ],
    [
      "a Hetzner server of an unknown type, whose token is still needed",
      {
        "infra:servers": servers([{ name: "main", provider: "hetzner", serverType: "cx99", location: "fsn1", sshPublicKey: TEST_HOST_KEY }]),
        "infra:opsHost": undefined,
        "hcloud:token": undefined,
      },
      ["infra:servers[0].serverType", "hcloud:token"],
    ],
    [
      "a scrape interval out of range, beside an evaluation interval",
      { "infra:monitoring": JSON.stringify({ scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 10 }) },
      ["infra:monitoring.scrapeIntervalSeconds"],
    ],
    [
      "an evaluation interval out of range",
      { "infra:monitoring": JSON.stringify({ evaluationIntervalSeconds: 1 }) },
      ["infra:monitoring.evaluationIntervalSeconds"],
    ],
    ["a misspelt infra:dns, with no Cloudflare token", { "infra:dns": "nnone", "cloudflare:apiToken": undefined }, ["infra:dns"]],
  ])("%s is one problem", (_case, changes, paths) => {
    const problems = problemsOf(completeRawConfig("prod", changes));
    expect(problems.map((problem) => problem.path)).toEqual(paths);
  });

  it("still checks the roles when every server was read", () => {
    expect(problemsOf(completeRawConfig("prod", { "infra:servers": servers([{ ...existing, roles: ["app"] }]) })).map((problem) => problem.message)).toEqual([
      expect.stringContaining('no server takes the role "ingress"'),
      expect.stringContaining('no server takes the role "data"'),
      expect.stringContaining('no server takes the role "monitoring"'),
    ]);
  });
});

describe("control characters: refused in every string that reaches a file or a URL (V1)", () => {
  // Each one a way to end a line, hide text or cut a string short in what the
  // value is written into: alertmanager.yml, an environment file, a URL.
  const CONTROLS: [string, string, string][] = [
    ["a line feed", "\n", "a line feed (U+000A)"],
    ["a carriage return", "\r", "a carriage return (U+000D)"],
    ["a tab", "\t", "a tab (U+0009)"],
    ["a NUL", "\u0000", "a NUL (U+0000)"],
    ["DEL", "\u007f", "a control character (U+007F)"],
    ["a C1 next line", "\u0085", "a control character (U+0085)"],
    ["a line separator", "\u2028", "a line separator (U+2028)"],
  ];
  const webhook = (url: string) => ({ "infra:monitoring": JSON.stringify({ receivers: { webhook: { url } } }) });
  const email = { to: ["ops@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587" };

  describe.each(CONTROLS)("%s", (_name, control, named) => {
    it.each([
      ["the webhook URL", webhook(`https://hooks.example.com/alerts${control}X-Injected: 1`), "infra:monitoring.receivers.webhook.url"],
      ["a trailing one in the webhook URL", webhook(`https://hooks.example.com/alerts${control}`), "infra:monitoring.receivers.webhook.url"],
      ["the domain", { "infra:domain": `vpai.example.com${control}` }, "infra:domain"],
      ["an admin CIDR", { "infra:adminCidrs": JSON.stringify([`198.51.100.7/32${control}`]) }, "infra:adminCidrs[0]"],
      [
        "an email address in a list",
        { "infra:monitoring": JSON.stringify({ receivers: { email: { ...email, to: [`ops@example.com${control}Bcc: x@example.net`] } } }) },
        "infra:monitoring.receivers.email.to[0]",
      ],
      ["an existing server's address", { "infra:servers": servers([{ ...existing, address: `203.0.113.20${control}` }]) }, "infra:servers[0].address"],
      [
        "an existing server's host key",
        { "infra:servers": servers([{ ...existing, hostKey: TEST_HOST_KEY.replace(" ", control) }]) },
        "infra:servers[0].hostKey",
        "holds more than one line",
      ],
      [
        "the storage endpoint",
        { "infra:storage": JSON.stringify({ endpoint: `https://fsn1.your-objectstorage.com${control}`, region: "fsn1", bucketPrefix: "vpai" }) },
        "infra:storage.endpoint",
      ],
      ["a field's name", { "infra:backup": JSON.stringify({ [`schedule${control}`]: "02:55" }) }, "infra:backup"],
      ["a key's name", { [`infra:domain${control}`]: "vpai.example.com" }, `infra:domain${control}`],
    ])(`in %s is one problem at its key path`, (_where, changes, path, lineFeedMessage?: string) => {
      const problems = problemsOf(completeRawConfig("prod", changes));
      // The host key's own parser reads line feeds, and says what it makes of them.
      const message = control === "\n" && lineFeedMessage ? lineFeedMessage : `contains ${named}`;
      expect(problems).toEqual([{ path, message: expect.stringContaining(message) }]);
    });

    it("in a secret is one problem that does not repeat the value", () => {
      const value = `planted-secret-4e1${control}more`;
      const problems = problemsOf(completeRawConfig("prod", { "infra:postgresPassword": value }));
      expect(problems).toEqual([{ path: "infra:postgresPassword", message: expect.stringContaining(`contains ${named}`) }]);
      expect(JSON.stringify(problems)).not.toContain("planted-secret");
    });
  });

  it("takes line feeds in the registry's CA certificate, and refuses a carriage return there", () => {
    const pem = readFileSync(join(__dirname, "../fixtures/registry-ca.pem"), "utf8");
    const registry = (caCertificate: string) => ({ "infra:registry": JSON.stringify({ host: "registry.example.com:5000", caCertificate }) });
    expect(() => validateStackConfig(completeRawConfig("prod", registry(pem)), BLUEPRINT_CATALOG)).not.toThrow();
    expect(problemsOf(completeRawConfig("prod", registry(pem.replace(/\n/g, "\r\n"))))).toEqual([
      { path: "infra:registry.caCertificate", message: expect.stringContaining("a carriage return (U+000D)") },
    ]);
  });

  it("takes line feeds in the SSH private key, and refuses a carriage return there", () => {
    const raw = completeRawConfig("prod", {}, []);
    const values = {
      ...raw.values,
      "infra:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    };
    expect(() => validateStackConfig({ values, secretKeys: raw.secretKeys }, BLUEPRINT_CATALOG)).not.toThrow();
    const withCarriageReturn = { ...values, "infra:sshPrivateKey": values["infra:sshPrivateKey"].replace(/\n/g, "\r\n") };
    expect(problemsOf({ values: withCarriageReturn, secretKeys: raw.secretKeys })).toEqual([
      { path: "infra:sshPrivateKey", message: expect.stringContaining("a carriage return (U+000D)") },
    ]);
  });

  it("prints every problem on its own line, whatever the values hold", () => {
    const error = new ConfigError([{ path: "infra:domain\n  - infra:forged", message: 'bad "a\rb"' }]);
    expect(error.message.split("\n")).toEqual(["stack configuration has 1 problem:", '  - infra:domain\\n  - infra:forged: bad "a\\rb"']);
  });
});

describe("keys outside infra:, and typos anywhere (V1)", () => {
  const HINT = "the README's Configuration section lists every key";

  it.each([
    ["a typo of the Hetzner token", "hcloud:tokn", "x", "did you mean hcloud:token?"],
    ["a typo of the namespace", "infr:blueprint", "vpai", "did you mean infra:blueprint?"],
    ["the namespace in capitals", "Infra:domain", "vpai.example.com", "did you mean infra:domain?"],
    ["a key in the wrong case", "infra:adminCIDRs", '["198.51.100.7/32"]', "did you mean infra:adminCidrs?"],
    ["a typo of the Cloudflare token, in the wrong case", "cloudflare:apitoken", "x", "did you mean cloudflare:apiToken?"],
    ["a typo of an infra: key", "infra:bluepint", "vpai", "did you mean infra:blueprint?"],
    ["a secret's name misspelt", "infra:postgresPasword", "x", "did you mean infra:postgresPassword?"],
    ["a provider the program does not configure through config", "docker:host", "ssh://deploy@203.0.113.20", 'reads no "docker:" keys'],
    ["a provider the program does not use", "aws:region", "eu-central-1", 'reads no "aws:" keys'],
    ["Cloudflare's legacy key, which the provider refuses beside a token", "cloudflare:apiKey", "x", "authenticates with cloudflare:apiToken"],
    ["a Pulumi key it does not document", "pulumi:disable-default-provider", '["*"]', "did you mean pulumi:disable-default-providers?"],
    ["a key without a name", "infra:", "x", "unknown key"],
  ])("%s (%s) is one problem at its key", (_case, key, value, message) => {
    const problems = problemsOf(completeRawConfig("prod", { [key]: value }));
    expect(problems).toEqual([{ path: key, message: expect.stringContaining(message) }]);
  });

  it("reports an unknown key once, whatever its value holds", () => {
    expect(problemsOf(completeRawConfig("prod", { "hcloud:tokn": "x\n" })).map((problem) => problem.path)).toEqual(["hcloud:tokn"]);
  });

  it("names the nearest key instead of listing every key", () => {
    const [problem] = problemsOf(completeRawConfig("prod", { "infra:domian": "vpai.example.com" }));
    expect(problem!.message).toContain("did you mean infra:domain?");
    expect(problem!.message).toContain(HINT);
    expect(problem!.message).not.toContain("infra:storageSecretAccessKey");
    expect(problem!.message.length).toBeLessThan(200);
  });

  it("says where the list is when no key is near", () => {
    const [problem] = problemsOf(completeRawConfig("prod", { "infra:colour": "blue" }));
    expect(problem).toEqual({ path: "infra:colour", message: expect.stringContaining(HINT) });
    expect(problem!.message).not.toContain("did you mean");
  });

  it("takes the settings the providers document, and Pulumi's own", () => {
    const raw = completeRawConfig("preprod", {
      "hcloud:endpoint": "https://api.hetzner.cloud/v1",
      "hcloud:pollInterval": "1s",
      "cloudflare:baseUrl": "https://api.cloudflare.com/client/v4",
      "pulumi:disable-default-providers": '["docker"]',
    });
    expect(() => validateStackConfig(raw, BLUEPRINT_CATALOG)).not.toThrow();
  });

  it("suggests the nearest field of an object, and still lists the few it takes", () => {
    const problems = problemsOf(
      completeRawConfig("prod", {
        "infra:servers": servers([{ ...Object.fromEntries(Object.entries(existing).filter(([field]) => field !== "memoryMb")), memroyMb: 16384 }]),
      }),
    );
    expect(problems).toContainEqual({ path: "infra:servers[0].memroyMb", message: expect.stringMatching(/^unknown field; did you mean memoryMb\? \(known: /) });
  });
});

describe("an existing server's address, in every spelling an IPv6 address comes in (V1)", () => {
  const withAddress = (address: string) => completeRawConfig("prod", { "infra:servers": servers([{ ...existing, address }]) });

  it.each(["2001:db8::20", "2001:DB8::20", "2001:db8:0:0:0:0:0:20", "::ffff:cb00:7114", "203.0.113.20", "vps.example.com"])("takes %s", (address) => {
    expect(validateStackConfig(withAddress(address), BLUEPRINT_CATALOG).config.servers[0]).toMatchObject({ address });
  });

  it.each([
    ["with a zone id", "fe80::1%eth0", "zone id"],
    ["with a zone id, URL-encoded", "fe80::1%25eth0", "zone id"],
    ["in brackets", "[2001:db8::20]", "without the brackets"],
    ["in brackets with a port", "[2001:db8::20]:2222", "sshPort"],
    ["IPv4 with a port", "203.0.113.20:2222", "sshPort"],
    ["IPv4-mapped in dotted form", "::ffff:203.0.113.20", "write the IPv4 address 203.0.113.20"],
    ["as a CIDR", "2001:db8::20/128", "one address"],
    ["as a URL", "ssh://deploy@2001:db8::20", "address or host name alone"],
  ])("refuses one %s, saying what to write", (_case, address, message) => {
    expect(problemsOf(withAddress(address))).toEqual([{ path: "infra:servers[0].address", message: expect.stringContaining(message) }]);
  });
});
