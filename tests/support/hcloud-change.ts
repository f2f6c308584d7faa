import { spawnSync } from "node:child_process";
import { requireTool } from "./tools";

/**
 * The Hetzner Cloud provider's own answers about a change, from
 * tools/hcloud-change (built by tools/install/hcloud-change.sh): which
 * attributes force a replacement, how a change is planned, and which API calls
 * its update makes. The program runs in a network namespace of its own, with
 * only a loopback interface, so nothing it does can leave the machine; its
 * fake API listens on 127.0.0.1 inside that namespace.
 */

export interface AttributeSchema {
  readonly type: string;
  readonly required: boolean;
  readonly optional: boolean;
  readonly computed: boolean;
  readonly forceNew: boolean;
}

export interface ResourceSchema {
  /** Terraform attribute names; nested block attributes as `block.attribute`. */
  readonly attributes: Record<string, AttributeSchema>;
  readonly hasUpdate: boolean;
}

export interface ChangeRequest {
  /** The Terraform resource type, e.g. `hcloud_server`. */
  readonly type: string;
  /** The config the resource was created with; its planned state is the prior state. */
  readonly prior: Record<string, unknown>;
  readonly config: Record<string, unknown>;
  /** Terraform attribute names, as the bridge passes Pulumi's ignoreChanges. */
  readonly ignoreChanges?: readonly string[];
}

export interface AttributeDiff {
  readonly old: string;
  readonly new: string;
  readonly newComputed?: boolean;
  readonly newRemoved?: boolean;
  readonly requiresNew: boolean;
}

export interface APIRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: string;
  readonly body?: Record<string, unknown>;
}

export interface PlannedChange {
  /** Whether the bridge turns the diff into a Pulumi replace. */
  readonly replace: boolean;
  readonly changed: boolean;
  readonly attributes: Record<string, AttributeDiff>;
  /** API calls made while planning. */
  readonly requests: APIRequest[];
}

export interface AppliedChange {
  readonly plan: PlannedChange;
  readonly requests: APIRequest[];
  readonly state?: Record<string, unknown>;
  readonly error?: string;
}

function hcloudChange(args: string[], input?: unknown): string {
  const binary = requireTool("hcloud-change");
  // A fresh network namespace has a loopback interface only, and it starts down.
  const run = spawnSync(requireTool("unshare"), ["--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', binary, ...args], {
    input: input === undefined ? undefined : JSON.stringify(input),
    encoding: "utf8",
    timeout: 120_000,
    env: { PATH: `/usr/sbin:/sbin:${process.env.PATH ?? "/usr/bin:/bin"}` },
  });
  if (run.status !== 0) throw new Error(`hcloud-change ${args.join(" ")} exited with ${run.status ?? run.signal}:\n${run.stderr}`);
  return run.stdout;
}

export function hcloudSchemas(types: readonly string[]): Record<string, ResourceSchema> {
  return JSON.parse(hcloudChange(["schema", ...types])) as Record<string, ResourceSchema>;
}

// Only the request's own fields: the program refuses unknown ones.
const requestOf = ({ type, prior, config, ignoreChanges }: ChangeRequest): ChangeRequest => ({ type, prior, config, ignoreChanges: ignoreChanges ?? [] });

export function planHcloudChange(request: ChangeRequest): PlannedChange {
  return JSON.parse(hcloudChange(["plan"], requestOf(request))) as PlannedChange;
}

/** Plans the change and applies it to a server (id 42) behind a fake Hetzner API. */
export function applyHcloudServerChange(request: ChangeRequest): AppliedChange {
  return JSON.parse(hcloudChange(["apply"], requestOf(request))) as AppliedChange;
}

/** `hcloud:index/volumeAttachment:VolumeAttachment` -> `hcloud_volume_attachment`. */
export function terraformType(pulumiType: string): string {
  const [pkg, , name] = pulumiType.split(":");
  return `${pkg}_${snakeCase(name!)}`;
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`).replace(/^_/, "");

/**
 * The Terraform attribute a Pulumi input name stands for. The bridge names a
 * property by camel-casing the attribute and pluralizing list blocks
 * (`public_net` -> `publicNets`, `rule` -> `rules`), so the way back is
 * snake_case, without the plural `s` when only that names an attribute.
 */
export function terraformName(pulumiName: string, schema: ResourceSchema, prefix = ""): string {
  const snake = snakeCase(pulumiName);
  if (schema.attributes[prefix + snake]) return snake;
  if (snake.endsWith("s") && schema.attributes[prefix + snake.slice(0, -1)]) return snake.slice(0, -1);
  throw new Error(`no Terraform attribute for the Pulumi input "${prefix}${pulumiName}" (looked for ${prefix}${snake})`);
}

/** Pulumi inputs as the Terraform config the bridge hands the provider. Map values (labels) keep their keys. */
export function terraformConfig(inputs: Record<string, unknown>, schema: ResourceSchema, prefix = ""): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => {
      const name = terraformName(key, schema, prefix);
      const nested = `${prefix}${name}.`;
      const isBlock = Object.keys(schema.attributes).some((attribute) => attribute.startsWith(nested));
      const converted = isBlock && Array.isArray(value) ? value.map((item) => terraformConfig(item as Record<string, unknown>, schema, nested)) : value;
      return [name, converted];
    }),
  );
}
