import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { LanguageRuntimeService } from "@pulumi/pulumi/proto/language_grpc_pb";
import { RunPluginResponse, type RunPluginRequest } from "@pulumi/pulumi/proto/language_pb";

/**
 * The nodejs language host the CLI talks to in tests/policy-pack: the one
 * tools/install/pulumi.sh builds (v3.68.0, the last the Go module proxy
 * serves), with RunPlugin added in front of it. Pulumi 3.248 starts a
 * nodejs policy pack through its language host's RunPlugin, which v3.68.0
 * answers with "not supported":
 *
 *   pulumi preview --policy-pack policy-pack
 *   error: policy pack ".../policy-pack" failed to start: could not read plugin [.../policy-pack]: not supported
 *
 * RunPlugin here does for a policy pack what the 3.248 host does: it runs
 * node on @pulumi/pulumi's cmd/run-policy-pack, resolved from the pack's
 * directory, with the engine's address and the pack's directory, and streams
 * its output and exit code back. Every other call goes to the real host
 * unchanged. Usage: language-host.ts <real host> <the CLI's arguments...>
 */

const [realHost, ...args] = process.argv.slice(2);
if (!realHost) throw new Error("usage: language-host.ts <pulumi-language-nodejs> <args...>");

/** Starts the real host and waits for the port it prints on its first line. */
function startRealHost(): Promise<number> {
  const child = spawn(realHost!, args, { stdio: ["ignore", "pipe", "inherit"] });
  process.on("exit", () => child.kill());
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = /^\s*(\d+)\s*\n/.exec(output);
      if (line) resolve(Number(line[1]));
    });
    child.once("exit", (code) => reject(new Error(`${realHost} exited with ${code} before printing its port`)));
  });
}

type Method = (typeof LanguageRuntimeService)[keyof typeof LanguageRuntimeService];

function forwarding(client: grpc.Client): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(LanguageRuntimeService) as [string, Method][]) {
    if (name === "runPlugin" || method.requestStream) continue;
    if (!method.responseStream) {
      handlers[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize as (value: unknown) => Buffer,
          method.responseDeserialize as (buffer: Buffer) => unknown,
          call.request,
          call.metadata,
          callback,
        );
      };
    } else {
      handlers[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const upstream = client.makeServerStreamRequest(
          method.path,
          method.requestSerialize as (value: unknown) => Buffer,
          method.responseDeserialize as (buffer: Buffer) => unknown,
          call.request,
          call.metadata,
        );
        upstream.on("data", (message) => call.write(message));
        upstream.on("end", () => call.end());
        upstream.on("error", (error) => call.emit("error", error));
      };
    }
  }
  return handlers;
}

/** A policy pack, run as the 3.248 host runs one: node on run-policy-pack, the engine's address and the pack's directory last. */
function runPlugin(call: grpc.ServerWritableStream<RunPluginRequest, RunPluginResponse>): void {
  const request = call.request;
  const directory = request.getInfo()?.getProgramDirectory() ?? request.getPwd();
  if (request.getKind() !== "analyzer") {
    call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: `RunPlugin of a ${request.getKind()} plugin is not supported here` });
    return;
  }
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [directory] });
  const env = Object.fromEntries(request.getEnvList().map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
  // In the pack's directory, as the 3.248 host runs a policy pack: @pulumi/policy reads ./package.json there.
  const child = spawn(process.execPath, [runner, ...request.getArgsList(), directory], {
    cwd: directory,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const send = (set: (response: RunPluginResponse) => void) => {
    const response = new RunPluginResponse();
    set(response);
    call.write(response);
  };
  child.stdout.on("data", (chunk: Buffer) => send((response) => response.setStdout(chunk)));
  child.stderr.on("data", (chunk: Buffer) => send((response) => response.setStderr(chunk)));
  child.once("close", (code) => {
    send((response) => response.setExitcode(code ?? -1));
    call.end();
  });
  call.on("cancelled", () => child.kill());
}

async function main(): Promise<void> {
  const port = await startRealHost();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const server = new grpc.Server();
  server.addService(LanguageRuntimeService as unknown as grpc.ServiceDefinition, { ...forwarding(client), runPlugin });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => {
    if (error) throw error;
    process.stdout.write(`${bound}\n`);
  });
}

void main();
