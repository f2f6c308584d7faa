import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../../infra/config/load";
import { isInputError } from "../../infra/input-error";
import { checkedModel, deployPlatform } from "../../infra/platform";
import type { PlatformModel } from "../../infra/platform-model";

/** One resource as the program registered it. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string | null;
  readonly parentUrn: string | null;
  readonly dependsOn: string[];
  readonly custom: boolean;
  readonly protect: boolean;
  readonly inputs: Record<string, unknown>;
}

export interface GraphRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
  readonly elapsedMs: number;
}

export interface ProgramRun extends GraphRun {
  readonly model: PlatformModel;
}

export interface ProgramConfig {
  readonly project: string;
  readonly stack: string;
  readonly values: Record<string, string>;
  readonly secretKeys: ReadonlySet<string>;
  /**
   * Record secret inputs in clear instead of as [secret]: for tests that read
   * what a secret input holds (a Hetzner server's user-data). The plan never
   * sets it.
   */
  readonly revealSecrets?: boolean;
}

/** How a secret input shows in the plan, in golden files and in test assertions. */
export const MASKED_SECRET = "[secret]";

const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getObject(): unknown;
}

/** Runs the real program (config validation and composition) under the mock runtime. */
export async function runProgram(config: ProgramConfig): Promise<ProgramRun> {
  // Config and policy are judged before the stack starts: a refusal is then
  // thrown here alone, and not a second time by the stack's own outputs.
  const prepared = await withConfig(config, () => {
    const loaded = loadStackConfig();
    return { loaded, model: checkedModel(loaded) };
  });
  const run = await recordGraph(config, () => deployPlatform(prepared.loaded, prepared.model).outputs);
  return { ...run, model: prepared.model };
}

/**
 * Runs `body` under Pulumi's mock runtime inside a root stack and records
 * every registration as the engine would receive it: type, name, parent,
 * explicit and implicit dependencies, protect, and inputs with secrets masked.
 */
export async function recordGraph(config: ProgramConfig, body: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<GraphRun> {
  try {
    return await withoutStackTraces(() => recordOnce(config, body));
  } catch (error) {
    if (isInputError(error)) throw error;
    // A fault of the program: run it again with stack traces, so that the
    // error says where it happened. The program is deterministic, so it
    // fails the same way.
    return recordOnce(config, body);
  }
}

/**
 * Runs `body` with stack traces turned off. Pulumi's SDK captures a stack
 * trace for every promise it makes (debuggablePromise), which Node maps
 * through the source maps of the TypeScript it runs: about half of a plan's
 * time, for traces that only a leaked promise at exit would ever print.
 */
async function withoutStackTraces<T>(body: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await body();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

async function recordOnce(config: ProgramConfig, body: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<GraphRun> {
  const started = performance.now();
  const recorded: RecordedResource[] = [];
  let pending = 0;
  let ids = 1000;

  await installMocks(config, () => ids++);

  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(request: RegisterRequest, callback: (error: unknown, response: unknown) => void): Promise<void> };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    pending++;
    recorded.push(record(request, config));
    return register(request, (error, response) => {
      pending--;
      callback(error, response);
    });
  };

  const outputs = (await pulumi.runtime.runInPulumiStack(async () => body())) as Record<string, unknown>;
  await settled(() => pending);

  const byUrn = new Map(recorded.map((resource) => [resource.urn, resource.name]));
  const resources = recorded.map((resource) => ({
    ...resource,
    parent: resource.parentUrn ? (byUrn.get(resource.parentUrn) ?? nameOf(resource.parentUrn)) : null,
    dependsOn: [...new Set(resource.dependsOn.map((urn) => byUrn.get(urn) ?? nameOf(urn)))].sort(),
  }));
  return { resources, outputs: maskSecrets(outputs) as Record<string, unknown>, elapsedMs: performance.now() - started };
}

/** Pulumi's mock runtime for this project and stack, with the stack's config set. */
async function installMocks(config: ProgramConfig, nextSerial: () => number): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const serial = nextSerial();
        // A container's id feeds its health gate's trigger, so it comes from
        // its name, not from the order of registration, which concurrent
        // registrations may change. Other ids stay numbers, as Hetzner's are,
        // made from their type and name for the same reason (mockId).
        const id = args.type === "docker:index/container:Container" ? `id-of-${args.name}` : mockId(args.type, args.name);
        return { id, state: { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs, serial + 1) } };
      },
      call: (args) => args.inputs,
    },
    config.project,
    config.stack,
    false,
  );
  pulumi.runtime.setAllConfig(config.values, [...config.secretKeys]);
}

/** Runs `body` with the stack's config set, outside any stack: for what must hold before resources are registered. */
export async function withConfig<T>(config: ProgramConfig, body: () => T): Promise<T> {
  let serial = 1000;
  await installMocks(config, () => serial++);
  return body();
}

function record(request: RegisterRequest, config: ProgramConfig): RecordedResource {
  const parentUrn = request.getParent() || null;
  const inputs = pulumi.runtime.deserializeProperties(request.getObject() as Parameters<typeof pulumi.runtime.deserializeProperties>[0]) as Record<string, unknown>;
  return {
    urn: urnOf(config, parentUrn, request.getType(), request.getName()),
    type: request.getType(),
    name: request.getName(),
    parent: null,
    parentUrn,
    dependsOn: request.getDependenciesList(),
    custom: request.getCustom(),
    protect: request.getProtect(),
    inputs: (config.revealSecrets ? revealSecrets(inputs) : maskSecrets(inputs)) as Record<string, unknown>,
  };
}

/** The same URN the mock monitor assigns, so parents and dependencies can be resolved to names. */
function urnOf(config: ProgramConfig, parentUrn: string | null, type: string, name: string): string {
  let qualifiedType = type;
  if (parentUrn) qualifiedType = `${parentUrn.split("::")[2]!.split("$").pop()}$${type}`;
  return `urn:pulumi:${config.stack}::${config.project}::${qualifiedType}::${name}`;
}

function nameOf(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

/** Replaces every secret-marked value with [secret] and drops the serialized dynamic provider. */
export function maskSecrets(value: unknown, key?: string): unknown {
  if (key === "__provider" && typeof value === "string") return `[serialized provider, ${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE) return MASKED_SECRET;
    return Object.fromEntries(Object.entries(record).map(([field, item]) => [field, maskSecrets(item, field)]));
  }
  return value;
}

/** What a secret-marked value holds; the serialized dynamic provider is dropped as in maskSecrets. */
function revealSecrets(value: unknown, key?: string): unknown {
  if (key === "__provider" && typeof value === "string") return `[serialized provider, ${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((item) => revealSecrets(item));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE) return revealSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([field, item]) => [field, revealSecrets(item, field)]));
  }
  return value;
}

/**
 * The host key the offline plan shows for a Hetzner server: an example made
 * once with ssh-keygen, never a server's (the real one is made on `pulumi up`).
 */
export const MOCK_HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM9mVKabjODX0/JgOofMeVGy2uqgusbMsFjfj3K2qKRT";

/**
 * A resource's id under the mocks, other than a container's: a number, as the
 * providers' ids are, made from its type and name, so it is the same whatever
 * order the resources reach the engine in. A container waits for its secret
 * files' host command, whose registration takes a varying time; a counter
 * would make the golden graph differ from run to run.
 */
function mockId(type: string, name: string): string {
  return String(1000 + (parseInt(createHash("sha256").update(`${type}::${name}`).digest("hex").slice(0, 8), 16) % 9_000_000));
}

/** Plausible values for outputs the program reads back (documentation addresses, never real ones). */
function computedOutputs(type: string, name: string, inputs: Record<string, unknown>, serial: number): Record<string, unknown> {
  switch (type) {
    case "hcloud:index/server:Server":
      return { ipv4Address: `203.0.113.${(serial % 200) + 10}`, ipv6Address: "2001:db8::1" };
    case "hcloud:index/loadBalancer:LoadBalancer":
      // Above the servers' .10-.209, so a DNS record at the balancer cannot be mistaken for one at a server.
      return { ipv4: `203.0.113.${(serial % 40) + 210}`, ipv6: "2001:db8::lb" };
    case "pulumi-nodejs:dynamic/compute:SSHHostKey":
      return { publicKey: MOCK_HOST_PUBLIC_KEY, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n(made on pulumi up)\n-----END OPENSSH PRIVATE KEY-----\n" };
    case "hcloud:index/volume:Volume":
      return { linuxDevice: `/dev/disk/by-id/scsi-0HC_Volume_${serial}` };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `${String(inputs.name)}` };
    case "docker:index/network:Network":
    case "docker:index/container:Container":
    case "docker:index/volume:Volume":
      return { name: inputs.name ?? name };
    default:
      return {};
  }
}

/** Waits until no registration has been in flight for a few turns of the event loop. */
async function settled(inFlight: () => number): Promise<void> {
  let quietTurns = 0;
  while (quietTurns < 5) {
    await new Promise((resolve) => setImmediate(resolve));
    quietTurns = inFlight() === 0 ? quietTurns + 1 : 0;
  }
}
