import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { validateStackConfig, type RawConfig } from "../../infra/config/validate";
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
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx99", location: "fsn1", sshPublicKey: "ssh-ed25519 AAAA" }]), "infra:servers[0].serverType", "cx23"],
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "mars1", sshPublicKey: "ssh-ed25519 AAAA" }]), "infra:servers[0].location", "fsn1"],
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "fsn1", sshPublicKey: "hunter2" }]), "infra:servers[0].sshPublicKey", "OpenSSH public key"],
    ["infra:dns", JSON.stringify({ zoneId: "example.com" }), "infra:dns.zoneId", "32-character hex"],
    ["infra:dns", JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: "yes" }), "infra:dns.proxied", "true or false"],
    ["infra:storage", JSON.stringify({ endpoint: "fsn1.your-objectstorage.com", region: "fsn1", bucketPrefix: "vpai" }), "infra:storage.endpoint", "http(s) URL"],
    ["infra:storage", JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "VPAI" }), "infra:storage.bucketPrefix", "lowercase"],
    ["infra:storage", JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "vpai", noncurrentVersionExpiryDays: 0 }), "infra:storage.noncurrentVersionExpiryDays", "from 1"],
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
    const problems = problemsOf(completeRawConfig("prod", { "infra:adminCidrs": JSON.stringify(["198.51.100.7/24", "2001:db8::1/64", "198.51.100.7/32", "2001:db8::/64"]) }));
    expect(problems).toEqual([
      { path: "infra:adminCidrs[0]", message: '"198.51.100.7/24" has host bits set past /24: write the network 198.51.100.0/24, or 198.51.100.7/32 for that one address' },
      { path: "infra:adminCidrs[1]", message: '"2001:db8::1/64" has host bits set past /64: write the network 2001:db8::/64, or 2001:db8::1/128 for that one address' },
    ]);
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
    expect(() => validateStackConfig(completeRawConfig("prod", { "hcloud:token": undefined }), BLUEPRINT_CATALOG)).not.toThrow();
  });
});

describe("SSH host keys of existing servers (H9)", () => {
  const withHostKey = (hostKey: unknown) => completeRawConfig("prod", { "infra:servers": servers([{ ...existing, hostKey }]) });
  const privateKey = ["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", "-----END OPENSSH PRIVATE KEY-----"].join("\n");

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
    expect(problemsOf(completeRawConfig("preprod", { "infra:servers": servers([hetzner]) }))).toContainEqual({ path: "infra:servers[0].hostKey", message: expect.stringContaining("generated by the program") });
  });
});

describe("infra:monitoring (V1) and admin passwords", () => {
  const monitoring = (value: unknown) => ({ "infra:monitoring": JSON.stringify(value) });
  const email = { to: ["ops@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587" };

  it("fills every default in one place when the key is absent", () => {
    const config = validateStackConfig(completeRawConfig("prod", { "infra:monitoring": undefined }), BLUEPRINT_CATALOG).config;
    expect(config.monitoring).toMatchObject({ adminAccess: "tunnel", scrapeIntervalSeconds: 15, evaluationIntervalSeconds: 30, receivers: {} });
    expect(config.monitoring.thresholds).toMatchObject({ diskFreeGb: 20, http5xxPercent: 5, http5xxForMinutes: 2, postgresConnectionsPercent: 80, redisMemoryPercent: 90, tlsExpiryDays: 14, backupRPOHours: 24 });
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
    [{ receivers: { email: { ...email, password: "hunter2" } } }, "infra:monitoring.receivers.password", "secret"],
    [{ receivers: { slack: { channel: "alerts" } } }, "infra:monitoring.receivers.slack.channel", "#alerts"],
    [{ receivers: { slack: { channel: "#alerts", webhookUrl: "https://hooks.slack.com/x" } } }, "infra:monitoring.receivers.webhookUrl", "V2"],
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
    expect(problems.map((problem) => problem.path)).toEqual(expect.arrayContaining(["infra:monitoring.adminAccess", "infra:monitoring.thresholds.diskFreeGb", "infra:monitoring.thresholds.tlsExpiryDays"]));
  });

  it("asks for the secrets the choices bring: the admin password for caddy, the SMTP password with a user name", () => {
    const raw = completeRawConfig("prod", monitoring({ adminAccess: "caddy", receivers: { email: { ...email, username: "alerts" }, slack: { channel: "#ops" } } }));
    for (const key of ["infra:monitoringAdminPassword", "infra:alertSmtpPassword", "infra:alertSlackWebhookUrl"]) delete (raw.values as Record<string, string>)[key];
    expect(problemsOf(raw).map((problem) => problem.path).sort()).toEqual(["infra:alertSlackWebhookUrl", "infra:alertSmtpPassword", "infra:monitoringAdminPassword"]);
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
    expect(() => validateStackConfig(completeRawConfig("prod", { "infra:grafanaAdminPassword": "[secret]", "infra:monitoringAdminPassword": "[secret]" }), BLUEPRINT_CATALOG)).not.toThrow();
    expect(() => validateStackConfig(completeRawConfig("prod", { "infra:grafanaAdminPassword": "t7#Kq9!vR2mZ" }), BLUEPRINT_CATALOG)).not.toThrow();
  });
});

describe("bcrypt hashes for the nginx and Traefik basic auth", () => {
  const withIngressAdmin = (hash: string) => rawConfigWithSecrets({ "infra:monitoring": JSON.stringify({ adminAccess: "ingress" }), "infra:monitoringAdminPasswordHash": hash });

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
    expect(defaults).toEqual({ schedule: "02:55", retention: { daily: 7, weekly: 4, monthly: 6, yearly: 2 }, checkSubsets: 30, pitr: { enabled: false, archiveTimeoutSeconds: 60 } });
    const custom = validateStackConfig(completeRawConfig("prod", backup({ schedule: "04:10", retention: { daily: 14 }, pitr: { enabled: true, archiveTimeoutSeconds: 30 } })), BLUEPRINT_CATALOG).config.backup;
    expect(custom).toEqual({ schedule: "04:10", retention: { daily: 14, weekly: 4, monthly: 6, yearly: 2 }, checkSubsets: 30, pitr: { enabled: true, archiveTimeoutSeconds: 30 } });
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
    const problems = problemsOf(completeRawConfig("prod", backup({ schedule: "noon", retention: { daily: 0, weekly: "x" }, checkSubsets: 1000, pitr: { archiveTimeoutSeconds: 61 } })));
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      "infra:backup.checkSubsets",
      "infra:backup.pitr.archiveTimeoutSeconds",
      "infra:backup.retention.daily",
      "infra:backup.retention.weekly",
      "infra:backup.schedule",
    ]);
  });

  it("requires the restic password as a secret (S4, V2)", () => {
    expect(problemsOf(completeRawConfig("prod", { "infra:resticPassword": undefined }))).toContainEqual({ path: "infra:resticPassword", message: expect.stringContaining("pulumi config set --secret infra:resticPassword") });
    expect(problemsOf(completeRawConfig("prod", {}, ["infra:resticPassword"]))).toContainEqual({ path: "infra:resticPassword", message: expect.stringContaining("plain text (V2)") });
  });

  it("takes the heartbeat URL only as a secret, checks its form without echoing it, and loads it when set", () => {
    const url = "https://uptime.example.com/api/push/planted-token-5e1d";
    expect(problemsOf(completeRawConfig("prod", { "infra:backupHeartbeatUrl": url }, ["infra:backupHeartbeatUrl"]))).toContainEqual({ path: "infra:backupHeartbeatUrl", message: expect.stringContaining("plain text (V2)") });
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
