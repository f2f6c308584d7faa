import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../../infra/config/load";
import { isInputError } from "../../infra/input-error";
import { checkedModel, deployPlatform } from "../../infra/platform";
import type { PlatformModel } from "../../infra/platform-model";

/** One resource as the program registered it. */
export interface RecordedResource {
  /** The URN the Pulumi engine gives it: the types of all its ancestors below the stack, then its own. */
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string | null;
  readonly parentUrn: string | null;
  /** The URNs it answers to besides its own (its aliases, its ancestors' aliases carried down), as the engine resolves them. */
  readonly aliases: string[];
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
  getAliasesList(): AliasMessage[];
}

/** One alias as the SDK sends it: a URN, or a spec relative to the resource. */
interface AliasMessage {
  getUrn(): string;
  hasSpec(): boolean;
  getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
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
  await installMocks(config);

  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: (error: unknown, response: unknown) => void): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  // The mock monitor names a child by its parent's last type only; the
  // engine's URN carries every ancestor's type. Parents are registered before
  // their children, so each parent's engine URN is known by then.
  const engineUrns = new Map<string, RecordedResource>();
  monitor.registerResource = (request, callback) => {
    pending++;
    const resource = record(request, config, engineUrns);
    engineUrns.set(mockUrnOf(config, request.getParent() || null, request.getType(), request.getName()), resource);
    recorded.push(resource);
    return register(request, (error, response) => {
      pending--;
      callback(error, response);
    });
  };

  const outputs = (await pulumi.runtime.runInPulumiStack(async () => body())) as Record<string, unknown>;
  await settled(() => pending);

  const byUrn = new Map(recorded.map((resource) => [resource.urn, resource.name]));
  const byMockUrn = new Map([...engineUrns].map(([mockUrn, resource]) => [mockUrn, resource.name]));
  const resources = recorded.map((resource) => ({
    ...resource,
    parent: resource.parentUrn ? (byUrn.get(resource.parentUrn) ?? nameOf(resource.parentUrn)) : null,
    dependsOn: [...new Set(resource.dependsOn.map((urn) => byMockUrn.get(urn) ?? nameOf(urn)))].sort(),
  }));
  return { resources, outputs: maskSecrets(outputs) as Record<string, unknown>, elapsedMs: performance.now() - started };
}

/** Pulumi's mock runtime for this project and stack, with the stack's config set. */
async function installMocks(config: ProgramConfig): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        // A container's id feeds its health gate's trigger, so it comes from
        // its name, not from the order of registration, which concurrent
        // registrations may change. Other ids stay numbers, as Hetzner's are,
        // made from their type and name for the same reason (mockId).
        const id = args.type === "docker:index/container:Container" ? `id-of-${args.name}` : mockId(args.type, args.name);
        return { id, state: { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs) } };
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
  await installMocks(config);
  return body();
}

function record(request: RegisterRequest, config: ProgramConfig, engineUrns: ReadonlyMap<string, RecordedResource>): RecordedResource {
  const mockParentUrn = request.getParent() || null;
  const parent = mockParentUrn ? engineUrns.get(mockParentUrn) : undefined;
  // The root stack is nobody's recorded resource: its children's URNs carry no parent type.
  const parentUrn = parent ? parent.urn : mockParentUrn && typeOfUrn(mockParentUrn) === ROOT_STACK_TYPE ? rootStackUrn(config) : null;
  const inputs = pulumi.runtime.deserializeProperties(request.getObject() as Parameters<typeof pulumi.runtime.deserializeProperties>[0]) as Record<
    string,
    unknown
  >;
  const own = { type: request.getType(), name: request.getName() };
  return {
    urn: engineUrn(config, parent?.urn ?? null, own.type, own.name),
    type: own.type,
    name: own.name,
    parent: null,
    parentUrn,
    aliases: resolvedAliases(config, own, parent, request.getAliasesList(), engineUrns),
    dependsOn: request.getDependenciesList(),
    custom: request.getCustom(),
    protect: request.getProtect(),
    inputs: (config.revealSecrets ? revealSecrets(inputs) : maskSecrets(inputs)) as Record<string, unknown>,
  };
}

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

function rootStackUrn(config: ProgramConfig): string {
  return `urn:pulumi:${config.stack}::${config.project}::${ROOT_STACK_TYPE}::${config.project}-${config.stack}`;
}

/**
 * The URN the engine gives a resource: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`,
 * where the qualified type is the parent's qualified type, `$`, and the
 * resource's type; the root stack adds nothing.
 */
export function engineUrn(config: Pick<ProgramConfig, "stack" | "project">, parentUrn: string | null, type: string, name: string): string {
  const parentType = parentUrn ? qualifiedTypeOf(parentUrn) : ROOT_STACK_TYPE;
  const qualified = parentType === ROOT_STACK_TYPE ? type : `${parentType}$${type}`;
  return `urn:pulumi:${config.stack}::${config.project}::${qualified}::${name}`;
}

function qualifiedTypeOf(urn: string): string {
  return urn.split("::")[2]!;
}

function typeOfUrn(urn: string): string {
  return qualifiedTypeOf(urn).split("$").pop()!;
}

/**
 * Every URN the engine may let a resource take over, by its rules for aliases
 * (generateAliases and collapseAliasToUrn in pulumi's pkg/resource/deploy/step_generator.go):
 * - each alias the resource declares, collapsed: a URN as it is; a spec with
 *   the resource's own name and type where it names none, under the parent it
 *   names or else the resource's own (the SDK sends it), the root stack
 *   meaning none. Where that parent matched an old URN through one of its
 *   aliases, the engine puts the spec under that old URN instead;
 * - where the resource's parent matched an old URN through one of its
 *   aliases: the resource under that old URN, and each collapsed alias (its
 *   type and name) under it, a name that starts with the parent's name having
 *   that prefix renamed to the old parent's name.
 * Which alias a parent matches depends on the state the engine meets, so the
 * list holds what each alias of the parent would give, and the resource's own
 * parent as if the parent had matched none.
 */
function resolvedAliases(
  config: ProgramConfig,
  own: { type: string; name: string },
  parent: RecordedResource | undefined,
  messages: readonly AliasMessage[],
  engineUrns: ReadonlyMap<string, RecordedResource>,
): string[] {
  // The URNs a parent may stand at in the state: its own, or any it answers to; the root stack is no parent.
  const parentsAt = (mockUrn: string): (string | null)[] => {
    if (typeOfUrn(mockUrn) === ROOT_STACK_TYPE) return [null];
    const recorded = engineUrns.get(mockUrn);
    return recorded ? [recorded.urn, ...recorded.aliases] : [mockUrn];
  };
  const collapsed: string[] = [];
  for (const message of messages) {
    const spec = message.hasSpec() ? message.getSpec() : undefined;
    if (!spec) {
      collapsed.push(message.getUrn());
      continue;
    }
    const where = { stack: spec.getStack() || config.stack, project: spec.getProject() || config.project };
    const name = spec.getName() || own.name;
    const type = spec.getType() || own.type;
    const aliasParents = spec.getNoparent() ? [null] : spec.getParenturn() ? parentsAt(spec.getParenturn()) : [parent?.urn ?? null];
    for (const aliasParent of aliasParents) collapsed.push(engineUrn(where, aliasParent, type, name));
  }
  const inherited: string[] = [];
  for (const parentAlias of parent?.aliases ?? []) {
    const renamed = (name: string) => (name.startsWith(parent!.name) ? `${nameOf(parentAlias)}${name.slice(parent!.name.length)}` : name);
    inherited.push(engineUrn(config, parentAlias, own.type, renamed(own.name)));
    for (const urn of collapsed) inherited.push(engineUrn(config, parentAlias, typeOfUrn(urn), renamed(nameOf(urn))));
  }
  const ownUrn = engineUrn(config, parent?.urn ?? null, own.type, own.name);
  return [...new Set([...collapsed, ...inherited])].filter((urn) => urn !== ownUrn);
}

/** The URN the mock monitor gives: only the parent's last type before the resource's own. */
function mockUrnOf(config: ProgramConfig, parentUrn: string | null, type: string, name: string): string {
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
  return String(1000 + (hashOf(type, name) % 9_000_000));
}

/**
 * A number made from a resource's type and name. Addresses and devices come
 * from it, not from a counter: registrations reach the mocks in an order that
 * changes with the shape of the tree, and a plan must not.
 */
function hashOf(type: string, name: string): number {
  return parseInt(createHash("sha256").update(`${type}::${name}`).digest("hex").slice(0, 8), 16);
}

/** Plausible values for outputs the program reads back (documentation addresses, never real ones). */
export function computedOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "hcloud:index/server:Server":
      return { ipv4Address: `203.0.113.${10 + (hashOf(type, name) % 200)}`, ipv6Address: "2001:db8::1" };
    case "hcloud:index/loadBalancer:LoadBalancer":
      // Above the servers' .10-.209, so a DNS record at the balancer cannot be mistaken for one at a server.
      return { ipv4: `203.0.113.${210 + (hashOf(type, name) % 40)}`, ipv6: "2001:db8::lb" };
    case "pulumi-nodejs:dynamic/compute:SSHHostKey":
      return { publicKey: MOCK_HOST_PUBLIC_KEY, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n(made on pulumi up)\n-----END OPENSSH PRIVATE KEY-----\n" };
    case "pulumi-nodejs:dynamic/vpn:WireGuardKey":
      // A stand-in of the right shape (base64 of 32 bytes), the same on every run for the golden graph.
      return { publicKey: createHash("sha256").update(`wireguard::${name}`).digest("base64"), privateKey: "(made on pulumi up)" };
    case "hcloud:index/volume:Volume":
      return { linuxDevice: `/dev/disk/by-id/scsi-0HC_Volume_${mockId(type, name)}` };
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
