import { computedOutputs } from "../../tools/plan/mock-run";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { loadStackConfig } from "../../infra/config/load";
import { deployPlatform } from "../../infra/platform";
import { liveFilesInstalled } from "../../components/container/live-config";
import type { RawConfig } from "../../infra/config/validate";

/** A container as the program registers it: the Docker provider's inputs. */
export interface ContainerInputs {
  readonly name: string;
  readonly image: string;
  readonly hostname: string;
  readonly command?: string[];
  readonly entrypoints?: string[];
  readonly user?: string;
  readonly envs: string[];
  readonly readOnly: boolean;
  readonly tmpfs: Record<string, string>;
  readonly healthcheck: { tests: string[]; interval: string; timeout: string; startPeriod: string; retries: number };
  readonly uploads: { file: string; content: string; executable: boolean }[];
  readonly volumes: { volumeName?: string; hostPath?: string; containerPath: string; readOnly: boolean }[];
  readonly networksAdvanced: { name: string; aliases: string[] }[];
  readonly ports: { internal: number; external: number; ip: string; protocol: string }[];
  readonly capabilities: { adds: string[]; drops: string[] };
  readonly securityOpts: string[];
  readonly memory: number;
  readonly memorySwap: number;
  readonly restart: string;
  readonly ulimits: { name: string; soft: number; hard: number }[];
  readonly labels: { label: string; value: string }[];
  readonly logDriver: string;
  readonly logOpts: Record<string, string>;
}

export interface NetworkInputs {
  readonly name: string;
  readonly driver: string;
  readonly internal: boolean;
  readonly ipamConfigs: { subnet: string }[];
  readonly labels: { label: string; value: string }[];
}

export interface ProgramContainer {
  readonly inputs: ContainerInputs;
  /** The live files its config command installs on the host before it starts (the ingress's routes). */
  readonly liveFiles: { path: string; content: string }[];
  /** Containers the program starts (and waits healthy for) before this one. */
  readonly after: string[];
}

/** A service's `-secrets` host command: what the program runs over SSH to write its secret files, and their contents for its stdin. */
export interface SecretFilesCommand {
  readonly name: string;
  readonly create: string;
  readonly stdin: string;
}

export interface ProgramContainers {
  readonly containers: ProgramContainer[];
  readonly networks: NetworkInputs[];
  /** Run before the containers start: each container that mounts secret files needs them on its host (C15). */
  readonly secretFiles: SecretFilesCommand[];
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getObject(): unknown;
}

/**
 * Runs the real program under Pulumi's mock runtime with `raw` as its stack
 * config, and returns the containers and networks it registers with their
 * inputs in clear: what the Docker provider would send to a server's engine.
 * The offline plan records the same registrations with secrets masked
 * (tools/plan/mock-run.ts); the testbed needs the values, so it sets test
 * secrets and keeps them.
 */
export async function programContainers(raw: RawConfig): Promise<ProgramContainers> {
  const recorded: { urn: string; type: string; name: string; parent: string; dependsOn: string[]; inputs: Record<string, unknown> }[] = [];
  let pending = 0;
  let ids = 1;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${ids++}`,
        // The program reads a pulled image's id and a resource's name back.
        state: {
          ...args.inputs,
          // Outputs other resources are built from (a server's address, a key's public half), as the offline plan gives them.
          ...computedOutputs(args.type, args.name, args.inputs),
          ...(args.type === "docker:index/remoteImage:RemoteImage" ? { imageId: args.inputs.name } : { name: args.inputs.name ?? args.name }),
        },
      }),
      call: (args) => args.inputs,
    },
    "infra",
    "testbed",
    false,
  );
  pulumi.runtime.setAllConfig(raw.values, [...raw.secretKeys]);
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: (error: unknown, response: unknown) => void): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    pending++;
    const inputs = pulumi.runtime.deserializeProperties(request.getObject() as Parameters<typeof pulumi.runtime.deserializeProperties>[0]) as Record<
      string,
      unknown
    >;
    recorded.push({
      urn: `${request.getParent()}$${request.getType()}::${request.getName()}`,
      type: request.getType(),
      name: request.getName(),
      parent: request.getParent(),
      dependsOn: request.getDependenciesList(),
      inputs: revealSecrets(inputs) as Record<string, unknown>,
    });
    return register(request, (error, response) => {
      pending--;
      callback(error, response);
    });
  };
  await pulumi.runtime.runInPulumiStack(async () => deployPlatform(loadStackConfig()).outputs);
  for (let quiet = 0; quiet < 5; quiet = pending === 0 ? quiet + 1 : 0) await new Promise((resolve) => setImmediate(resolve));

  // A dependency is a URN; a container depends on a component (the Service) whose child it is.
  const nameOfUrn = (urn: string) => urn.split("::").pop() ?? urn;
  const containers = recorded.filter((resource) => resource.type === "docker:index/container:Container");
  const containerOfComponent = new Map(containers.map((container) => [nameOfUrn(container.parent), String(container.inputs.name)]));
  return {
    containers: containers.map((container) => ({
      inputs: container.inputs as unknown as ContainerInputs,
      liveFiles: recorded.flatMap((resource) => liveFilesInstalled(resource.inputs.triggers, String(container.inputs.name))),
      after: [
        ...new Set(container.dependsOn.map((urn) => containerOfComponent.get(nameOfUrn(urn))).filter((name): name is string => name !== undefined)),
      ].sort(),
    })),
    networks: recorded.filter((resource) => resource.type === "docker:index/network:Network").map((network) => network.inputs as unknown as NetworkInputs),
    secretFiles: recorded
      .filter((resource) => resource.type === "pulumi-nodejs:dynamic/remote:SSHCommand" && resource.name.endsWith("-secrets"))
      .map((command) => ({ name: command.name, create: String(command.inputs.create), stdin: String(command.inputs.stdin ?? "") })),
  };
}

/** Replaces each secret wrapper with its value. */
function revealSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[specialSigKey] === specialSecretSig) return revealSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, revealSecrets(item)]));
  }
  return value;
}
