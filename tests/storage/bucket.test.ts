// Graph test of the Bucket component under Pulumi's mocks. The mock monitor's
// registerResource is wrapped so the test sees each registration request as the
// engine would: type, name, parent URN, options and the serialized inputs.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, test } from "vitest";
import { Bucket, type BucketArgs } from "../../components/storage/bucket";

interface Registration {
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  protect: boolean | undefined;
  retainOnDelete: boolean | undefined;
  dependencies: string[];
  additionalSecretOutputs: string[];
  inputs: Record<string, unknown>;
}

interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getObject(): unknown;
}

const registrations: Registration[] = [];
const DYNAMIC_TYPE = "pulumi-nodejs:dynamic/storage:Bucket";
const ACCESS_KEY = "AKID-planted-4f1c";
const SECRET_KEY = "secret-planted-9d2e7a";

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: args.inputs }),
      call: (args) => args.inputs,
    },
    "infra",
    "test",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterResourceRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    registrations.push({
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: req.getCustom(),
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      dependencies: req.getDependenciesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      inputs: pulumi.runtime.deserializeProperties(req.getObject() as never),
    });
    return register(req, callback);
  };
});

function args(overrides: Partial<BucketArgs> = {}): BucketArgs {
  return {
    bucketName: "prod-backups",
    connection: {
      endpoint: "https://fsn1.your-objectstorage.com",
      region: "fsn1",
      accessKeyId: pulumi.secret(ACCESS_KEY),
      secretAccessKey: pulumi.secret(SECRET_KEY),
    },
    noncurrentVersionExpiryDays: 30,
    ...overrides,
  };
}

function settled<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Constructs a Bucket and waits until it and its child are registered; returns the registrations and the time taken. */
async function construct(name: string, bucketArgs: BucketArgs, opts?: pulumi.ComponentResourceOptions) {
  const before = registrations.length;
  const started = performance.now();
  const bucket = new Bucket(name, bucketArgs, opts);
  await settled(pulumi.all([bucket.urn, bucket.bucketName, bucket.endpoint]));
  const elapsedMs = performance.now() - started;
  const added = registrations.slice(before);
  const component = added.find((r) => r.type === "infra:storage:Bucket");
  const child = added.find((r) => r.type === DYNAMIC_TYPE);
  if (!component || !child) throw new Error(`expected a component and a child, registered: ${added.map((r) => r.type).join(", ")}`);
  return { bucket, component, child, added, elapsedMs };
}

describe("Bucket", () => {
  test("registers infra:storage:Bucket with one dynamic bucket child named from it, and stays fast under mocks", async () => {
    const cold = await construct("backups", args());
    const warm = await construct("media", args({ bucketName: "prod-media" }));
    // Serializing the dynamic provider is the slow part; Pulumi caches it per
    // provider object, so only the first Bucket in a program pays for it.
    console.log(`Bucket under mocks: first ${cold.elapsedMs.toFixed(0)} ms, second ${warm.elapsedMs.toFixed(0)} ms`);
    expect(cold.elapsedMs).toBeLessThan(5000);
    expect(warm.elapsedMs).toBeLessThan(500);

    expect(cold.added.map((r) => [r.type, r.name])).toEqual([
      ["infra:storage:Bucket", "backups"],
      [DYNAMIC_TYPE, "backups-bucket"],
    ]);
    const componentUrn = await settled(cold.bucket.urn);
    expect(cold.child.parent).toBe(componentUrn);
    expect(cold.child.custom).toBe(true);
    expect(warm.child.name).toBe("media-bucket");
    expect(await settled(cold.bucket.bucketName)).toBe("prod-backups");
    expect(await settled(cold.bucket.endpoint)).toBe("https://fsn1.your-objectstorage.com");
  });

  test("passes the settings to the bucket with defaults filled in", async () => {
    const { child } = await construct("settings", args({ bucketName: "prod-settings" }));
    expect(child.inputs).toMatchObject({
      bucketName: "prod-settings",
      endpoint: "https://fsn1.your-objectstorage.com",
      region: "fsn1",
      forcePathStyle: false,
      noncurrentVersionExpiryDays: 30,
      forceDestroy: false,
    });
  });

  test.each([
    ["given as secrets", pulumi.secret(ACCESS_KEY), pulumi.secret(SECRET_KEY)],
    ["given in plain text", ACCESS_KEY, SECRET_KEY],
  ])("keeps the credentials secret when %s, in inputs, outputs and the serialized provider", async (_label, accessKeyId, secretAccessKey) => {
    const name = `keys-${registrations.length}`;
    const { child } = await construct(name, args({ bucketName: `prod-${name}`, connection: { ...args().connection, accessKeyId, secretAccessKey } }));
    expect(pulumi.runtime.isRpcSecret(child.inputs.accessKeyId)).toBe(true);
    expect(pulumi.runtime.isRpcSecret(child.inputs.secretAccessKey)).toBe(true);
    expect(pulumi.runtime.isRpcSecret(child.inputs.bucketName)).toBe(false);
    expect(child.additionalSecretOutputs).toEqual(expect.arrayContaining(["accessKeyId", "secretAccessKey"]));
    const provider = child.inputs.__provider as string;
    expect(provider).not.toContain(ACCESS_KEY);
    expect(provider).not.toContain(SECRET_KEY);
  });

  test("serializes a self-contained provider that loads the S3 SDK itself", async () => {
    const { child } = await construct("closure", args({ bucketName: "prod-closure" }));
    const text = child.inputs.__provider as string;
    console.log(`serialized provider: ${(text.length / 1024).toFixed(1)} KiB`);
    expect(text.length).toBeLessThan(64 * 1024);
    expect(text).not.toMatch(/@pulumi\/pulumi/);

    // Run the text the way the provider process does: as a module whose
    // `handler` returns the provider. Its check() reaches the validation rules.
    const module = { exports: {} as { handler?: () => pulumi.dynamic.ResourceProvider } };
    new Function("exports", "module", "require", text)(module.exports, module, require);
    const provider = module.exports.handler!();
    const check = await provider.check!({}, { bucketName: "Bad_Name", endpoint: "https://e.example", region: "fsn1", noncurrentVersionExpiryDays: 0 });
    expect(check.failures?.map((f) => f.property)).toEqual(["bucketName", "bucketName", "noncurrentVersionExpiryDays"]);
    expect(await provider.diff!("b", { bucketName: "a" }, { bucketName: "b" })).toMatchObject({ replaces: ["bucketName"] });
  });

  test("passes protect to the bucket through its parent, and forwards retainOnDelete and dependsOn", async () => {
    class Dependency extends pulumi.CustomResource {
      constructor(name: string) {
        super("test:index:Dependency", name, {});
      }
    }
    const dependency = new Dependency("dependency");
    const dependencyUrn = await settled(dependency.urn);
    const guarded = await construct("guarded", args({ bucketName: "prod-guarded" }), {
      protect: true,
      retainOnDelete: true,
      dependsOn: [dependency],
    });
    expect(guarded.child.protect).toBe(true);
    expect(guarded.child.retainOnDelete).toBe(true);
    expect(guarded.child.dependencies).toContain(dependencyUrn);

    const plain = await construct("unguarded", args({ bucketName: "prod-unguarded" }));
    expect(plain.child.protect).toBeFalsy();
    expect(plain.child.retainOnDelete).toBeFalsy();
    expect(plain.child.dependencies).not.toContain(dependencyUrn);
  });

  test("rejects invalid arguments with one error naming every problem, before registering anything", async () => {
    const invalid = args({
      bucketName: "Prod_Backups",
      noncurrentVersionExpiryDays: 0,
      forceDestroy: "yes" as unknown as boolean,
      connection: {
        endpoint: "http://fsn1.your-objectstorage.com",
        region: "",
        accessKeyId: undefined as unknown as string,
        secretAccessKey: "",
      },
    });
    let message = "";
    try {
      new Bucket("broken", invalid);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n")).toEqual([
      'infra:storage:Bucket "broken" has 8 invalid arguments:',
      "  - connection.accessKeyId: must be given (a Pulumi secret)",
      '  - bucketName: "Prod_Backups" contains "P", "_", "B"; only lowercase letters, digits, dots and hyphens are allowed',
      '  - bucketName: "Prod_Backups" must begin with a lowercase letter or a digit',
      '  - connection.endpoint: "http://fsn1.your-objectstorage.com" uses plain http to a remote host; use https (http is accepted only for 127.0.0.1, localhost, [::1])',
      '  - connection.region: "" is not a region name (lowercase letters, digits and hyphens, e.g. fsn1, auto, us-east-1)',
      "  - connection.secretAccessKey: must be a non-empty string",
      "  - noncurrentVersionExpiryDays: must be a whole number of days, 1 or more, got 0 (number)",
      '  - forceDestroy: must be true or false, got "yes"',
    ]);
    // Registration is asynchronous: a component registered before the throw
    // would reach the monitor no later than one constructed after it.
    await construct("after-broken", args({ bucketName: "prod-after-broken" }));
    expect(registrations.filter((r) => r.name.startsWith("broken"))).toEqual([]);
  });
});
