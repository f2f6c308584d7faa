// The testbed's stand-in for ghcr.io/openclaw/openclaw's gateway, run as the
// image runs it: `node openclaw.mjs gateway --allow-unconfigured` in /app, as
// the node user. It chooses its port and address as the gateway does (the
// --port flag, then OPENCLAW_GATEWAY_PORT, then gateway.port in the config,
// then 18789; --bind, then gateway.bind, then loopback), refuses a
// non-loopback address without a token or password, and writes its config
// file into the state directory (OPENCLAW_STATE_DIR or ~/.openclaw) before it
// listens, failing as the gateway does when it cannot. It serves the Control
// UI's page on / and {"ok":true} on /health; nothing else of OpenClaw runs
// (tools/testbed/images/README.md).
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";

const VERSION = "2026.1.30";
const DEFAULT_PORT = 18789;

function fail(message, code = 1) {
  console.error(message);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args[0] === "--version") {
  console.log(VERSION);
  process.exit(0);
}
if (args[0] !== "gateway") fail(`error: unknown command '${args[0] ?? ""}' (the testbed's openclaw stand-in runs the gateway only)`, 2);
const rest = args.slice(args[1] === "run" ? 2 : 1);
const flags = {};
for (let index = 0; index < rest.length; index++) {
  const [name, inline] = rest[index].replace(/^--/, "").split(/=(.*)/s);
  if (["allow-unconfigured", "verbose", "force", "dev"].includes(name)) flags[name] = true;
  else if (["port", "bind", "token", "password"].includes(name)) flags[name] = inline ?? rest[++index];
  else fail(`error: unknown option '${rest[index]}'`, 2);
}

const env = process.env;
const stateDir = env.OPENCLAW_STATE_DIR?.trim() || join(env.OPENCLAW_HOME?.trim() || homedir(), ".openclaw");
const configPath = env.OPENCLAW_CONFIG_PATH?.trim() || join(stateDir, "openclaw.json");
let config = {};
if (existsSync(configPath)) {
  try {
    config = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    fail(`Gateway failed to start: invalid config at ${configPath}: ${error.message}`);
  }
}
const gateway = config.gateway ?? {};
if (gateway.mode !== "local" && !flags["allow-unconfigured"]) {
  fail("Gateway start blocked: set gateway.mode=local (current: unset) or pass --allow-unconfigured.", 78);
}
const envPort = Number.parseInt(env.OPENCLAW_GATEWAY_PORT?.trim() || env.CLAWDBOT_GATEWAY_PORT?.trim() || "", 10);
const port = Number(flags.port) || (envPort > 0 ? envPort : 0) || (gateway.port > 0 ? gateway.port : 0) || DEFAULT_PORT;
const bind = flags.bind ?? gateway.bind ?? "loopback";
const host = { loopback: "127.0.0.1", lan: "0.0.0.0", auto: "0.0.0.0" }[bind] ?? bind;
const token = flags.token ?? env.OPENCLAW_GATEWAY_TOKEN ?? gateway.auth?.token;
const password = flags.password ?? env.OPENCLAW_GATEWAY_PASSWORD ?? gateway.auth?.password;
if (host !== "127.0.0.1" && !token && !password) {
  fail(`Refusing to bind gateway to ${bind} without auth.\nSet OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD, or pass --token/--password.`);
}

// The gateway records itself in its config as it starts, through a temporary file.
try {
  mkdirSync(stateDir, { recursive: true });
  const temporary = `${configPath}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ ...config, meta: { ...config.meta, lastTouchedVersion: VERSION, lastTouchedAt: new Date().toISOString() } }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, configPath);
} catch (error) {
  fail(`Gateway failed to start: Error: ${error.message}`);
}

const server = createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0];
  if (path === "/health") {
    response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  } else if (path === "/" || path.startsWith("/ui")) {
    response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>OpenClaw Control</title>");
  } else {
    response.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
  }
});
server.on("error", (error) => fail(`Gateway failed to start: ${error.message}`));
server.listen(port, host, () => console.log(`[gateway] listening on ws://${host}:${port} (openclaw ${VERSION}, testbed stand-in)`));
process.on("SIGTERM", () => process.exit(0));
