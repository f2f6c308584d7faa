import { execFileSync } from "node:child_process";
import { request } from "node:http";
import type { ContainerInputs, NetworkInputs } from "./program-containers";
import { DOCKER, type VPS } from "./vps";

/** The Docker Engine API of one engine, over its unix socket. */
export interface Engine {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string; raw: Buffer }>;
}

/** Docker 20.10's API version: the VPS runs Debian 12's engine. */
const API = "/v1.41";

export function engineAt(socketPath: string): Engine {
  return {
    call(method, path, body) {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const contentType = Buffer.isBuffer(body) ? "application/x-tar" : "application/json";
      return new Promise((resolvePromise, reject) => {
        const call = request(
          { socketPath, method, path: `${API}${path}`, headers: payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {} },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => {
              const raw = Buffer.concat(chunks);
              resolvePromise({ status: response.statusCode ?? 0, body: raw.toString(), raw });
            });
          },
        );
        call.on("error", reject);
        call.end(payload);
      });
    },
  };
}

/**
 * The VPS's own engine, reached through its socket in the VPS's root: the
 * same API the Docker provider speaks over SSH, without an SSH connection
 * per call.
 */
export function vpsEngine(vps: VPS): Engine {
  const pid = execFileSync(DOCKER, ["inspect", "--format", "{{.State.Pid}}", vps.name], { encoding: "utf8" }).trim();
  return engineAt(`/proc/${pid}/root/run/docker.sock`);
}

async function ok(engine: Engine, method: string, path: string, body?: unknown): Promise<string> {
  const answer = await engine.call(method, path, body);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.body.trim()}`);
  return answer.body;
}

/** Creates a network as the provider does from the program's inputs. */
export async function createNetwork(engine: Engine, network: NetworkInputs): Promise<void> {
  await ok(engine, "POST", "/networks/create", {
    Name: network.name,
    Driver: network.driver,
    Internal: network.internal,
    CheckDuplicate: true,
    IPAM: { Config: network.ipamConfigs.map((config) => ({ Subnet: config.subnet })) },
    Labels: Object.fromEntries(network.labels.map((label) => [label.label, label.value])),
  });
}

/** Seconds in a Go duration as the program writes them (`30s`, `2m0s`, `1h0m0s`). */
const seconds = (duration: string) => {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match || duration === "") throw new Error(`unparsed duration ${duration}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
};

/**
 * The Engine API's create request for a container the program registers,
 * as terraform-provider-docker builds it (resource_docker_container_funcs.go):
 * the image given (the testbed registry's name for it), and the health
 * check's interval replaced by `healthIntervalSeconds`, because Docker 20.10
 * runs a first check only after one interval and the program's is 30 s.
 */
export function createRequest(inputs: ContainerInputs, image: string, healthIntervalSeconds: number): Record<string, unknown> {
  const ports = inputs.ports.map((port) => ({ key: `${port.internal}/${port.protocol}`, binding: { HostIp: port.ip, HostPort: String(port.external) } }));
  const health = inputs.healthcheck;
  return {
    Image: image,
    Hostname: inputs.hostname,
    Env: inputs.envs,
    ...(inputs.command ? { Cmd: inputs.command } : {}),
    ...(inputs.entrypoints ? { Entrypoint: inputs.entrypoints } : {}),
    ...(inputs.user ? { User: inputs.user } : {}),
    Labels: Object.fromEntries(inputs.labels.map((label) => [label.label, label.value])),
    ExposedPorts: Object.fromEntries(ports.map((port) => [port.key, {}])),
    Healthcheck: {
      Test: health.tests,
      Interval: healthIntervalSeconds * 1e9,
      Timeout: seconds(health.timeout) * 1e9,
      StartPeriod: seconds(health.startPeriod) * 1e9,
      Retries: health.retries,
    },
    HostConfig: {
      Binds: inputs.volumes.map((volume) => `${volume.volumeName ?? volume.hostPath}:${volume.containerPath}${volume.readOnly ? ":ro" : ""}`),
      PortBindings: Object.fromEntries(ports.map((port) => [port.key, [port.binding]])),
      ReadonlyRootfs: inputs.readOnly,
      Tmpfs: inputs.tmpfs,
      CapAdd: inputs.capabilities.adds,
      CapDrop: inputs.capabilities.drops,
      SecurityOpt: inputs.securityOpts,
      Memory: inputs.memory * 1024 * 1024,
      MemorySwap: inputs.memorySwap * 1024 * 1024,
      RestartPolicy: { Name: inputs.restart },
      Ulimits: inputs.ulimits.map((limit) => ({ Name: limit.name, Soft: limit.soft, Hard: limit.hard })),
      LogConfig: { Type: inputs.logDriver, Config: inputs.logOpts },
      Init: false,
    },
  };
}

/** A tar holding one file at an absolute path, as the provider uploads each file: root's, 0644, or 0744 when executable. */
export function uploadArchive(file: string, content: string, executable: boolean): Buffer {
  const data = Buffer.from(content);
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "utf8");
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  const name = file.replace(/^\/+/, "");
  if (Buffer.byteLength(name) > 100) throw new Error(`${file}: paths over 100 bytes need a tar format this writer does not make`);
  field(0, 100, name);
  octal(100, 8, executable ? 0o744 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, data.length);
  octal(136, 12, Math.floor(Date.now() / 1000));
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  header.fill(" ", 148, 156);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}

/**
 * Creates, connects, uploads into and starts a container from the program's
 * inputs, in the provider's order: created off every network, connected to
 * each of its networks with its aliases, files uploaded, then started.
 */
export async function startProgramContainer(engine: Engine, inputs: ContainerInputs, image: string, healthIntervalSeconds: number): Promise<void> {
  const name = encodeURIComponent(inputs.name);
  const [first, ...rest] = inputs.networksAdvanced;
  const create = createRequest(inputs, image, healthIntervalSeconds);
  (create.HostConfig as Record<string, unknown>).NetworkMode = first?.name ?? "none";
  if (first) create.NetworkingConfig = { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } };
  await ok(engine, "POST", `/containers/create?name=${name}`, create);
  for (const network of rest)
    await ok(engine, "POST", `/networks/${encodeURIComponent(network.name)}/connect`, { Container: inputs.name, EndpointConfig: { Aliases: network.aliases } });
  for (const upload of inputs.uploads)
    await ok(engine, "PUT", `/containers/${name}/archive?path=/`, uploadArchive(upload.file, upload.content, upload.executable));
  await ok(engine, "POST", `/containers/${name}/start`);
}

export interface ContainerState {
  readonly status: string;
  readonly health: string;
  readonly exitCode: number;
  readonly restarts: number;
  /** The last health check's output. */
  readonly lastCheck: string;
}

export async function containerState(engine: Engine, name: string): Promise<ContainerState> {
  const inspected = JSON.parse(await ok(engine, "GET", `/containers/${encodeURIComponent(name)}/json`)) as {
    State: { Status: string; ExitCode: number; Health?: { Status: string; Log?: { Output: string }[] } };
    RestartCount: number;
  };
  const log = inspected.State.Health?.Log ?? [];
  return {
    status: inspected.State.Status,
    health: inspected.State.Health?.Status ?? "none",
    exitCode: inspected.State.ExitCode,
    restarts: inspected.RestartCount,
    lastCheck: log.at(-1)?.Output.trim() ?? "",
  };
}

/** The container's output so far (both streams), for failure messages. */
export async function containerLogs(engine: Engine, name: string, tail = 40): Promise<string> {
  const { raw } = await engine.call("GET", `/containers/${encodeURIComponent(name)}/logs?stdout=1&stderr=1&tail=${tail}`);
  // Without a TTY the stream is framed: a stream byte, three zeros, a 4-byte length, then the text.
  const text: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length; offset += 8 + raw.readUInt32BE(offset + 4))
    text.push(raw.subarray(offset + 8, offset + 8 + raw.readUInt32BE(offset + 4)));
  return Buffer.concat(text).toString();
}
