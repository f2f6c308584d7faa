import { describe, expect, test } from "vitest";
import {
  type BucketInputs,
  type BucketState,
  NONCURRENT_EXPIRY_RULE_ID,
  UNKNOWN_VALUE,
  bucketDiff,
  bucketInputProblems,
  bucketNameProblems,
  endpointProblems,
  formatProblems,
  noncurrentExpiryDays,
  noncurrentExpiryRule,
  notEmptyMessage,
  publicGrants,
  publicPolicyStatements,
  withBucketDefaults,
  withNoncurrentExpiryRule,
  withoutPublicStatements,
} from "../../components/storage/bucket-rules";

describe("bucketNameProblems", () => {
  test.each([
    ["backups", []],
    ["prod-backups.2024", []],
    ["a1b", []],
    ["x".repeat(63), []],
    ["ab", [/2 characters long; S3 bucket names are 3 to 63/]],
    ["x".repeat(64), [/64 characters long/]],
    ["Backups_Prod", [/contains "B", "_", "P"; only lowercase letters/, /begin with a lowercase letter or a digit/]],
    ["-backups", [/begin with a lowercase letter or a digit/]],
    ["backups.", [/end with a lowercase letter or a digit/]],
    ["my..bucket", [/two adjacent dots/]],
    ["192.168.1.10", [/formatted as an IP address/]],
    ["xn--bucket", [/reserved prefix "xn--"/]],
    ["sthree-bucket", [/reserved prefix "sthree-"/]],
    ["bucket-s3alias", [/reserved suffix "-s3alias"/]],
    ["bucket--ol-s3", [/reserved suffix "--ol-s3"/]],
    ["", [/0 characters long/]],
    [42, [/must be a string, got 42 \(number\)/]],
  ] as [unknown, RegExp[]][])("%j", (name, expected) => {
    const problems = bucketNameProblems(name);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(problems[i]).toMatch(pattern));
  });
});

describe("endpointProblems", () => {
  test.each([
    ["https://fsn1.your-objectstorage.com", []],
    ["https://s3.us-west-004.backblazeb2.com", []],
    ["https://0123abcd.r2.cloudflarestorage.com", []],
    ["http://127.0.0.1:9000", []],
    ["http://localhost:9000", []],
    ["http://[::1]:9000", []],
    ["http://fsn1.your-objectstorage.com", [/plain http to a remote host/]],
    ["ftp://127.0.0.1", [/uses ftp; only https/]],
    ["https://fsn1.your-objectstorage.com/bucket", [/has a path, query or fragment/]],
    ["https://key:secret@fsn1.your-objectstorage.com", [/embeds credentials/]],
    ["fsn1.your-objectstorage.com", [/is not a URL/]],
    [undefined, [/must be a string, got nothing/]],
  ] as [unknown, RegExp[]][])("%j", (endpoint, expected) => {
    const problems = endpointProblems(endpoint);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(problems[i]).toMatch(pattern));
  });
});

test.each([
  "https://key:planted-Pw7q@fsn1.your-objectstorage.com/#x",
  "http://key:planted-Pw7q@fsn1.your-objectstorage.com",
  "https://key:planted-Pw7q@fsn1.your-objectstorage.com:99999",
])("endpointProblems never repeats credentials given in %s", (endpoint) => {
  const problems = endpointProblems(endpoint);
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.join("\n")).not.toContain("planted-Pw7q");
  expect(problems.join("\n")).toContain("***@");
});

test.each(["https://fsn1.your-objectstorage.com#", "https://fsn1.your-objectstorage.com?"])(
  "endpointProblems refuses the empty fragment or query of %s",
  (endpoint) => {
    expect(endpointProblems(endpoint)).toEqual([expect.stringMatching(/has a path, query or fragment/)]);
  },
);

const VALID: BucketInputs = {
  bucketName: "backups",
  endpoint: "https://fsn1.your-objectstorage.com",
  region: "fsn1",
  accessKeyId: "AKID",
  secretAccessKey: "SECRET",
  forcePathStyle: false,
  noncurrentVersionExpiryDays: 30,
  forceDestroy: false,
};

describe("bucketInputProblems", () => {
  test.each([
    ["valid inputs", {}, []],
    ["region auto (R2)", { region: "auto" }, []],
    ["days 0", { noncurrentVersionExpiryDays: 0 }, ["noncurrentVersionExpiryDays"]],
    ["days 1.5", { noncurrentVersionExpiryDays: 1.5 }, ["noncurrentVersionExpiryDays"]],
    ["days as a string", { noncurrentVersionExpiryDays: "30" }, ["noncurrentVersionExpiryDays"]],
    ["empty region", { region: "" }, ["connection.region"]],
    ["region with a space", { region: "eu central" }, ["connection.region"]],
    ["empty secret key", { secretAccessKey: "" }, ["connection.secretAccessKey"]],
    ["forceDestroy as a string", { forceDestroy: "yes" }, ["forceDestroy"]],
    ["forcePathStyle as a number", { forcePathStyle: 1 }, ["connection.forcePathStyle"]],
    ["credentials unknown during preview", { accessKeyId: UNKNOWN_VALUE, secretAccessKey: UNKNOWN_VALUE }, []],
    ["credentials not given (checked by the component)", { accessKeyId: undefined, secretAccessKey: undefined }, []],
    [
      "every problem at once",
      { bucketName: "Bad_Name", endpoint: "ftp://x", region: "", noncurrentVersionExpiryDays: 0, forceDestroy: "no" },
      ["bucketName", "bucketName", "connection.endpoint", "connection.region", "noncurrentVersionExpiryDays", "forceDestroy"],
    ],
  ] as [string, Record<string, unknown>, string[]][])("%s", (_label, override, paths) => {
    expect(bucketInputProblems({ ...VALID, ...override }).map((p) => p.path)).toEqual(paths);
  });

  test("formatProblems puts every problem on its own line under the subject", () => {
    const message = formatProblems('infra:storage:Bucket "b"', [
      { path: "bucketName", reason: "too short" },
      { path: "noncurrentVersionExpiryDays", reason: "must be 1 or more" },
    ]);
    expect(message).toBe('infra:storage:Bucket "b" has 2 invalid arguments:\n  - bucketName: too short\n  - noncurrentVersionExpiryDays: must be 1 or more');
  });
});

describe("withBucketDefaults", () => {
  test.each([
    [{}, { forceDestroy: false, forcePathStyle: false }],
    [{ forceDestroy: true }, { forceDestroy: true, forcePathStyle: false }],
    [{ forcePathStyle: true }, { forceDestroy: false, forcePathStyle: true }],
  ])("%j", (input, expected) => {
    expect(withBucketDefaults(input)).toEqual(expected);
  });
});

describe("lifecycle rules", () => {
  test("the rule expires noncurrent versions of the whole bucket after NoncurrentDays", () => {
    expect(noncurrentExpiryRule(30)).toEqual({
      ID: NONCURRENT_EXPIRY_RULE_ID,
      Status: "Enabled",
      Filter: { Prefix: "" },
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
    });
  });

  const other = { ID: "tmp-expiry", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 1 } };
  test.each([
    ["no rules yet", [], [noncurrentExpiryRule(7)]],
    ["an older version of the rule is replaced", [noncurrentExpiryRule(30)], [noncurrentExpiryRule(7)]],
    ["other rules are kept", [other, noncurrentExpiryRule(30)], [other, noncurrentExpiryRule(7)]],
  ])("withNoncurrentExpiryRule: %s", (_label, existing, expected) => {
    expect(withNoncurrentExpiryRule(existing, 7)).toEqual(expected);
  });

  test.each([
    ["the rule", [noncurrentExpiryRule(30)], 30],
    ["the rule among others", [other, noncurrentExpiryRule(14)], 14],
    ["the legacy top-level empty Prefix", [{ ...noncurrentExpiryRule(5), Filter: undefined, Prefix: "" }], 5],
    ["no rules", [], null],
    ["only someone else's rule", [{ ...noncurrentExpiryRule(30), ID: "other" }], null],
    ["the rule disabled", [{ ...noncurrentExpiryRule(30), Status: "Disabled" }], null],
    ["the rule narrowed to a prefix", [{ ...noncurrentExpiryRule(30), Filter: { Prefix: "logs/" } }], null],
    ["the rule narrowed to a tag", [{ ...noncurrentExpiryRule(30), Filter: { Tag: { Key: "a", Value: "b" } } }], null],
    ["the rule without NoncurrentDays", [{ ...noncurrentExpiryRule(30), NoncurrentVersionExpiration: undefined }], null],
  ])("noncurrentExpiryDays: %s", (_label, rules, expected) => {
    expect(noncurrentExpiryDays(rules)).toBe(expected);
  });
});

describe("privacy (S1)", () => {
  const owner = { Grantee: { Type: "CanonicalUser", ID: "owner" }, Permission: "FULL_CONTROL" };
  test.each([
    ["owner only", [owner], []],
    [
      "public-read",
      [owner, { Grantee: { Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AllUsers" }, Permission: "READ" }],
      ["ACL grants READ to everyone"],
    ],
    [
      "authenticated-read",
      [{ Grantee: { Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" }, Permission: "READ" }],
      ["ACL grants READ to every authenticated user"],
    ],
  ])("publicGrants: %s", (_label, grants, expected) => {
    expect(publicGrants(grants)).toEqual(expected);
  });

  const statement = (extra: object) => ({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*", ...extra });
  const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
  test.each([
    ["Principal *", policy(statement({ Principal: "*" })), 1],
    ["Principal AWS *", policy(statement({ Principal: { AWS: "*" } })), 1],
    ["Principal AWS [*]", policy(statement({ Principal: { AWS: ["*"] } })), 1],
    ["NotPrincipal with Allow", policy(statement({ NotPrincipal: { AWS: "arn:aws:iam::1:root" } })), 1],
    ["a named principal", policy(statement({ Principal: { AWS: ["arn:aws:iam::1:user/backup"] } })), 0],
    ["Deny for everyone", policy(statement({ Effect: "Deny", Principal: "*" })), 0],
    ["a single statement object", JSON.stringify({ Statement: statement({ Principal: "*" }) }), 1],
  ])("publicPolicyStatements: %s", (_label, text, count) => {
    expect(publicPolicyStatements(text)).toHaveLength(count);
  });

  test("withoutPublicStatements keeps the statements that do not allow everyone", () => {
    const named = statement({ Sid: "backup", Principal: { AWS: "arn:aws:iam::1:user/backup" } });
    expect(JSON.parse(withoutPublicStatements(policy(statement({ Principal: "*" }), named))!)).toEqual({
      Version: "2012-10-17",
      Statement: [named],
    });
    expect(withoutPublicStatements(policy(statement({ Principal: "*" })))).toBeNull();
  });
});

describe("bucketDiff", () => {
  const state: BucketState = { ...VALID, versioning: "Enabled", publicAccess: [] };
  test.each([
    ["nothing changed", {}, {}, { changes: false, replaces: [] }],
    ["defaults equal explicit false", { forceDestroy: undefined, forcePathStyle: undefined }, {}, { changes: false, replaces: [] }],
    ["bucketName", {}, { bucketName: "backups-2" }, { changes: true, replaces: ["bucketName"] }],
    ["endpoint", {}, { endpoint: "https://nbg1.your-objectstorage.com" }, { changes: true, replaces: ["endpoint"] }],
    ["region", {}, { region: "nbg1" }, { changes: true, replaces: ["region"] }],
    ["noncurrentVersionExpiryDays", {}, { noncurrentVersionExpiryDays: 90 }, { changes: true, replaces: [] }],
    ["forceDestroy", {}, { forceDestroy: true }, { changes: true, replaces: [] }],
    ["forcePathStyle", {}, { forcePathStyle: true }, { changes: true, replaces: [] }],
    ["access key rotated", {}, { accessKeyId: "AKID2" }, { changes: true, replaces: [] }],
    ["secret key rotated", {}, { secretAccessKey: "SECRET2" }, { changes: true, replaces: [] }],
    ["credentials unknown during preview", {}, { accessKeyId: UNKNOWN_VALUE, secretAccessKey: UNKNOWN_VALUE }, { changes: true, replaces: [] }],
    ["drift: versioning suspended", { versioning: "Suspended" }, {}, { changes: true, replaces: [] }],
    ["drift: lifecycle rule gone", { noncurrentVersionExpiryDays: null }, {}, { changes: true, replaces: [] }],
    ["drift: public policy", { publicAccess: ["bucket policy statement #1 allows everyone"] }, {}, { changes: true, replaces: [] }],
    ["name and days together", {}, { bucketName: "backups-2", noncurrentVersionExpiryDays: 90 }, { changes: true, replaces: ["bucketName"] }],
  ] as [string, Partial<BucketState>, Partial<BucketInputs>, { changes: boolean; replaces: string[] }][])("%s", (_label, olds, news, expected) => {
    expect(bucketDiff({ ...state, ...olds }, { ...VALID, ...news })).toEqual({ ...expected, deleteBeforeReplace: false });
  });
});

describe("notEmptyMessage", () => {
  test("names the bucket, the count by kind, and forceDestroy", () => {
    expect(
      notEmptyMessage("backups", "https://fsn1.your-objectstorage.com", { currentVersions: 1, noncurrentVersions: 2, deleteMarkers: 1, truncated: false }),
    ).toBe(
      'bucket "backups" at https://fsn1.your-objectstorage.com is not empty: found 4 objects ' +
        "(1 current object, 2 older versions, 1 delete marker). Nothing was deleted. " +
        "To delete the bucket with everything in it, set forceDestroy: true on the Bucket, run `pulumi up` so the setting is recorded, and delete again.",
    );
  });
  test("says 'at least' when counting stopped early", () => {
    expect(notEmptyMessage("b", "e", { currentVersions: 10000, noncurrentVersions: 0, deleteMarkers: 0, truncated: true })).toMatch(
      /found at least 10000 objects \(10000 current objects, 0 older versions, 0 delete markers\)/,
    );
  });
});
