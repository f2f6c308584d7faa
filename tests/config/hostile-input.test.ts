import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig } from "../../infra/config/validate";
import { completeRawConfig, configProblemsOf, rawConfigWithSecrets, TEST_HOST_KEY } from "../support/stack-config";

/**
 * The configuration as an attacker, or a tired operator, writes it: every
 * value of the shipped prod stack replaced by one of another kind, null,
 * numbers as text, unknown and prototype-named fields at depth, values far
 * too long. Each is one ConfigError with a problem at the value's own path,
 * in the project's words, never a crash and never a silent acceptance.
 */

const problemsOf = configProblemsOf;
const prod = completeRawConfig("prod");
const existing = { name: "main", provider: "existing", address: "203.0.113.20", sshUser: "deploy", memoryMb: 16384, hostKey: TEST_HOST_KEY };
const servers = (list: unknown[]) => ({ "infra:servers": JSON.stringify(list) });

type Path = (string | number)[];

/** Every value inside a structured key, with its path below the key. */
function valuesOf(value: unknown, path: Path = []): [Path, unknown][] {
  const inner = Array.isArray(value)
    ? value.flatMap((item, index) => valuesOf(item, [...path, index]))
    : typeof value === "object" && value !== null
      ? Object.entries(value).flatMap(([field, item]) => valuesOf(item, [...path, field]))
      : [];
  return [[path, value], ...inner];
}

/** `value` with the value at `path` replaced. */
function replaced(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), replacement);
  return copy;
}

/** Values of every other kind than `value`'s: what a type check must refuse. */
function wrongKinds(value: unknown): unknown[] {
  if (Array.isArray(value)) return [null, {}, "text", 1];
  if (typeof value === "object" && value !== null) return [null, [], "text", 1];
  if (typeof value === "number") return [null, [], {}, String(value), true];
  if (typeof value === "boolean") return [null, [], {}, String(value), 1];
  return [null, [], {}, 12345, false];
}

function notation(key: string, path: Path): string {
  return path.reduce<string>((text, segment) => (typeof segment === "number" ? `${text}[${segment}]` : `${text}.${segment}`), key);
}

const STRUCTURED = ["infra:adminCidrs", "infra:servers", "infra:dns", "infra:storage", "infra:backup", "infra:monitoring"];
const CASES = STRUCTURED.flatMap((key) =>
  valuesOf(JSON.parse(prod.values[key]!)).flatMap(([path, value]) => wrongKinds(value).map((wrong) => [notation(key, path), wrong, key, path] as const)),
);

describe("a value of the wrong kind, at every level of the shipped prod stack", () => {
  it("covers every value of the structured keys", () => {
    expect(CASES.length).toBeGreaterThan(150);
  });

  it.each(CASES)("%s as %j is one problem at that path, in the project's words", (path, wrong, key, at) => {
    const changed = JSON.stringify(replaced(JSON.parse(prod.values[key]!), at, wrong));
    const problems = problemsOf(completeRawConfig("prod", { [key]: changed }));
    expect(problems.map((problem) => problem.path)).toEqual([path]);
    expect(problems[0]!.message).not.toMatch(/Invalid input|expected \w+, received|Unrecognized key/);
    if (wrong === null) expect(problems[0]!.message).toMatch(/null/);
  });
});

describe("numbers and booleans written as text", () => {
  it.each([
    [
      servers([{ ...existing, memoryMb: "16384" }]),
      "infra:servers[0].memoryMb",
      '"16384" is text, not a number: write it without quotes (an integer from 512 to 1048576)',
    ],
    [
      servers([{ ...existing, sshPort: "2222" }]),
      "infra:servers[0].sshPort",
      '"2222" is text, not a number: write it without quotes (an integer from 1 to 65535)',
    ],
    [
      servers([{ ...existing, monthlyCostEur: "22.0" }]),
      "infra:servers[0].monthlyCostEur",
      '"22.0" is text, not a number: write it without quotes (a number from 0 to 100000)',
    ],
    [{ "infra:backup": JSON.stringify({ retention: { daily: "7" } }) }, "infra:backup.retention.daily", '"7" is text, not a number'],
    [{ "infra:monitoring": JSON.stringify({ thresholds: { diskFreeGb: "20" } }) }, "infra:monitoring.thresholds.diskFreeGb", '"20" is text, not a number'],
    [
      { "infra:dns": JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: "true" }) },
      "infra:dns.proxied",
      '"true" is text: write true without quotes',
    ],
    [{ "infra:backup": JSON.stringify({ pitr: { enabled: "false" } }) }, "infra:backup.pitr.enabled", '"false" is text: write false without quotes'],
  ])("%j is refused at %s, saying to drop the quotes", (changes, path, message) => {
    expect(problemsOf(completeRawConfig("prod", changes))).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it("a number where text belongs names what it expected", () => {
    expect(problemsOf(completeRawConfig("prod", servers([{ ...existing, sshUser: 1000 }])))).toEqual([
      { path: "infra:servers[0].sshUser", message: "must be a string" },
    ]);
  });
});

describe("negative, fractional and out-of-range numbers", () => {
  it.each([
    [{ memoryMb: -1 }, "memoryMb", "-1 must be an integer from 512 to 1048576"],
    [{ memoryMb: 1024.5 }, "memoryMb", "1024.5 must be an integer from 512 to 1048576"],
    [{ memoryMb: Number.POSITIVE_INFINITY }, "memoryMb", "Infinity must be an integer from 512 to 1048576"],
    [{ memoryMb: 2 ** 60 }, "memoryMb", "1152921504606847000 must be an integer from 512 to 1048576"],
    [{ sshPort: 0 }, "sshPort", "0 must be an integer from 1 to 65535"],
    [{ sshPort: 22.5 }, "sshPort", "22.5 must be an integer from 1 to 65535"],
    [{ sshPort: 65536 }, "sshPort", "65536 must be an integer from 1 to 65535"],
    [{ monthlyCostEur: -0.01 }, "monthlyCostEur", "-0.01 must be a number from 0 to 100000"],
  ])("%j is one problem naming the value and the range", (fields, field, message) => {
    // 1e400 is JSON that reads as Infinity; JSON.stringify would write it as null.
    const text = JSON.stringify([{ ...existing, ...fields }]).replace("null", "1e400");
    expect(problemsOf(completeRawConfig("prod", { "infra:servers": text }))).toEqual([{ path: `infra:servers[0].${field}`, message }]);
  });

  it("a Hetzner volume below the floor or in fractions", () => {
    const hetzner = { name: "main", provider: "hetzner", serverType: "cx23", location: "fsn1", sshPublicKey: TEST_HOST_KEY };
    for (const volumeGb of [-10, 9, 10.5]) {
      expect(problemsOf(rawConfigWithSecrets(servers([{ ...hetzner, volumeGb }]), "preprod"))).toEqual([
        { path: "infra:servers[0].volumeGb", message: `${volumeGb} must be an integer from 10 to 10240` },
      ]);
    }
  });
});

describe("unknown fields at depth, with the nearest known one", () => {
  it.each([
    [
      { "infra:monitoring": JSON.stringify({ receivers: { emial: { to: ["ops@example.com"] } } }) },
      "infra:monitoring.receivers.emial",
      "unknown field; did you mean email? (known: email, slack, webhook)",
    ],
    [
      { "infra:backup": JSON.stringify({ retention: { dialy: 7 } }) },
      "infra:backup.retention.dialy",
      "unknown field; did you mean daily? (known: daily, weekly, monthly, yearly)",
    ],
    [
      { "infra:backup": JSON.stringify({ pitr: { enabeld: true } }) },
      "infra:backup.pitr.enabeld",
      "unknown field; did you mean enabled? (known: enabled, archiveTimeoutSeconds)",
    ],
    [
      { "infra:monitoring": JSON.stringify({ thresholds: { diskFreeGB: 10 } }) },
      "infra:monitoring.thresholds.diskFreeGB",
      "unknown field; did you mean diskFreeGb?",
    ],
    [
      { "infra:ingress": JSON.stringify({ routes: [{ subdomain: "www", service: "caddy", prot: 443 }] }) },
      "infra:ingress.routes[0].prot",
      "unknown field; did you mean port? (known: subdomain, service, port)",
    ],
    [
      { "infra:storage": JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "vpai", forcePathstyle: true }) },
      "infra:storage.forcePathstyle",
      "unknown field; did you mean forcePathStyle?",
    ],
  ])("%j is refused at %s", (changes, path, message) => {
    expect(problemsOf(completeRawConfig("prod", changes))).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("a field a Hetzner server takes is unknown on an existing one, with the fields that one takes", () => {
    expect(problemsOf(completeRawConfig("prod", servers([{ ...existing, serverType: "cx23" }])))).toEqual([
      {
        path: "infra:servers[0].serverType",
        message: "unknown field (known: provider, name, roles, sshUser, address, sshPort, hostKey, memoryMb, monthlyCostEur)",
      },
    ]);
  });
});

describe("a misspelt value names the nearest allowed one", () => {
  it.each([
    [{ "infra:blueprint": "vpia" }, "infra:blueprint", "did you mean vpai?"],
    [{ "infra:blueprint": "fast-api" }, "infra:blueprint", "did you mean fastapi?"],
    [
      { "infra:monitoring": JSON.stringify({ adminAccess: "tunel" }) },
      "infra:monitoring.adminAccess",
      '"tunel" is not one of tunnel, caddy, ingress; did you mean tunnel?',
    ],
    [{ "infra:monitoring": JSON.stringify({ adminAccess: "Ingress" }) }, "infra:monitoring.adminAccess", "did you mean ingress?"],
    [servers([{ ...existing, provider: "hetzer" }]), "infra:servers[0].provider", '"hetzer" is not one of hetzner, existing; did you mean hetzner?'],
    [
      servers([{ ...existing, roles: ["ingres", "app", "data", "monitoring"] }]),
      "infra:servers[0].roles[0]",
      '"ingres" is not a role (one of ingress, app, data, monitoring, replica); did you mean ingress?',
    ],
    [
      servers([{ name: "main", provider: "hetzner", serverType: "cx32", location: "fsn", sshPublicKey: TEST_HOST_KEY }]),
      "infra:servers[0].location",
      "did you mean fsn1?",
    ],
  ])("%j at %s: %s", (changes, path, message) => {
    expect(problemsOf(rawConfigWithSecrets(changes))).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("names no value when none is near, but still lists them all", () => {
    const [problem] = problemsOf(completeRawConfig("prod", { "infra:monitoring": JSON.stringify({ adminAccess: "wide-open" }) }));
    expect(problem).toEqual({ path: "infra:monitoring.adminAccess", message: '"wide-open" is not one of tunnel, caddy, ingress' });
  });
});

describe("field names JavaScript keeps for an object's prototype", () => {
  const PROTOTYPE = /is a name JavaScript reserves for an object's prototype/;

  it.each([
    ["a release", { "infra:releases": '{"__proto__": "1.0.1"}' }, "infra:releases.__proto__"],
    ["a release named constructor", { "infra:releases": '{"constructor": "1.0.1"}' }, "infra:releases.constructor"],
    ["a response header", { "infra:ingress": '{"headers": {"__proto__": "x"}}' }, "infra:ingress.headers.__proto__"],
    [
      "a field of a server",
      { "infra:servers": JSON.stringify([existing]).replace('{"name"', '{"__proto__": {"memoryMb": 1}, "name"') },
      "infra:servers[0].__proto__",
    ],
    ["a field of the retention", { "infra:backup": '{"retention": {"prototype": 3}}' }, "infra:backup.retention.prototype"],
  ])("%s is one problem at its path, never a change of what objects inherit", (_case, changes, path) => {
    const problems = problemsOf(rawConfigWithSecrets({ "infra:blueprint": "fastapi", ...changes }));
    expect(problems).toEqual([{ path, message: expect.stringMatching(PROTOTYPE) }]);
    expect(({} as Record<string, unknown>).memoryMb).toBeUndefined();
  });

  it.each(["constructor:apiToken", "__proto__:x", "toString:x", "hasOwnProperty:x", "infra:constructor", "infra:__proto__"])(
    "the key %s is an unknown key, not a crash",
    (key) => {
      const problems = problemsOf(completeRawConfig("prod", { [key]: "x" }));
      expect(problems).toEqual([{ path: key, message: expect.stringMatching(/unknown key|reads no/) }]);
    },
  );
});

describe("very long values", () => {
  const LONG = "a".repeat(100_000);

  it.each([
    ["the domain", { "infra:domain": `${LONG}.example.com` }, "infra:domain"],
    ["the environment", { "infra:environment": LONG }, "infra:environment"],
    ["a server name", servers([{ ...existing, name: LONG }]), "infra:servers[0].name"],
    ["a release tag", { "infra:releases": JSON.stringify({ backend: LONG }) }, "infra:releases.backend"],
    ["a blueprint", { "infra:blueprint": LONG }, "infra:blueprint"],
    ["an admin CIDR", { "infra:adminCidrs": JSON.stringify([`${LONG}/32`]) }, "infra:adminCidrs[0]"],
  ])("%s of 100,000 characters is one short problem, found quickly", (_case, changes, path) => {
    const started = performance.now();
    const problems = problemsOf(rawConfigWithSecrets({ "infra:blueprint": "fastapi", ...changes }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(problems.map((problem) => problem.path)).toEqual([path]);
    // The message says how long the value is instead of repeating all of it.
    expect(problems[0]!.message.length).toBeLessThan(400);
  });

  it("a key of 100,000 characters is an unknown key, found quickly", () => {
    const started = performance.now();
    const problems = problemsOf(completeRawConfig("prod", { [`infra:${LONG}`]: "x" }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(problems).toEqual([{ path: `infra:${LONG}`, message: expect.stringContaining("unknown key") }]);
  });
});

describe("control characters in places the older tests do not reach", () => {
  it.each([
    [
      "a release tag's service name",
      { "infra:releases": JSON.stringify({ "backend\n": "1.0.1" }) },
      "infra:releases",
      "has a field whose name contains a line feed",
    ],
    [
      "a header name",
      { "infra:ingress": JSON.stringify({ headers: { "X-A\u2028": "a" } }) },
      "infra:ingress.headers",
      "has a field whose name contains a line separator",
    ],
    [
      "a route's subdomain",
      { "infra:ingress": JSON.stringify({ routes: [{ subdomain: "www\r", service: "backend" }] }) },
      "infra:ingress.routes[0].subdomain",
      "contains a carriage return",
    ],
    [
      "the second email address",
      {
        "infra:monitoring": JSON.stringify({
          receivers: { email: { to: ["ops@example.com", "b@example.com\u0000"], from: "a@example.com", smarthost: "smtp.example.com:587" } },
        }),
      },
      "infra:monitoring.receivers.email.to[1]",
      "contains a NUL",
    ],
    [
      "the Slack channel",
      { "infra:monitoring": JSON.stringify({ receivers: { slack: { channel: "#alerts\u0085" } } }) },
      "infra:monitoring.receivers.slack.channel",
      "contains a control character (U+0085)",
    ],
  ])("in %s is one problem at its path", (_case, changes, path, message) => {
    const raw = rawConfigWithSecrets({ "infra:blueprint": "fastapi", ...changes });
    expect(problemsOf(raw)).toEqual([{ path, message: expect.stringContaining(message) }]);
  });
});

describe("errors stay ConfigErrors, whatever the input", () => {
  it.each([
    ["every structured key null", Object.fromEntries(STRUCTURED.map((key) => [key, "null"]))],
    ["every structured key a number", Object.fromEntries(STRUCTURED.map((key) => [key, "42"]))],
    ["every structured key an empty list", Object.fromEntries(STRUCTURED.map((key) => [key, "[]"]))],
    ["every structured key broken JSON", Object.fromEntries(STRUCTURED.map((key) => [key, "{"]))],
  ])("%s", (_case, changes) => {
    let thrown: unknown;
    try {
      validateStackConfig(completeRawConfig("prod", changes), BLUEPRINT_CATALOG);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const paths = (thrown as ConfigError).problems.map((problem) => problem.path);
    for (const key of STRUCTURED.filter((key) => (key !== "infra:backup" && key !== "infra:monitoring" ? true : changes[key] !== "[]")))
      expect(paths).toContain(key);
  });
});
