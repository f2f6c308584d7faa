import * as pulumi from "@pulumi/pulumi";

/**
 * Keeps a Hetzner server powered on after the hcloud provider changed it.
 *
 * Resizing a server (seed 004's phase 1 to 2, ccx23 to ccx33) is an in-place
 * update: the provider powers the server off, changes its type and stops
 * there. It never powers it on again, so without this resource `pulumi up`
 * would leave the database server off. This resource runs after the server
 * on every change of its type, asks the Hetzner API for the server's status,
 * and powers it on when it is off, waiting for the action to finish.
 */

export const HETZNER_API = "https://api.hetzner.cloud/v1";

export interface ServerRunningInputs {
  readonly serverId: number;
  /** Not used by the API calls: a change of it is what makes this resource run again after a resize. */
  readonly serverType: string;
  readonly token: string;
  readonly apiEndpoint: string;
}

export interface WaitOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** A resize takes a minute or two; starting a server, seconds. Ten minutes is generous for both. */
export const DEFAULT_WAIT: WaitOptions = { intervalMs: 2_000, timeoutMs: 600_000 };

/** What ensureRunning did, for the resource's outputs and the tests. */
export interface PowerOutcome {
  readonly statusBefore: string;
  readonly poweredOn: boolean;
}

// Pulumi serializes the provider below and every function it reaches into the
// state file, and runs that text in a separate provider process: these
// functions use only the global fetch and each other, and close over no secret.

async function hetznerRequest(inputs: ServerRunningInputs, method: "GET" | "POST", path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${inputs.apiEndpoint}${path}`, {
    method,
    headers: { Authorization: `Bearer ${inputs.token}`, "Content-Type": "application/json" },
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  if (!response.ok) {
    const error = body.error as { code?: string; message?: string } | undefined;
    // The token is never part of the message; the API's own words are.
    throw new Error(`Hetzner API ${method} ${path} answered ${response.status}${error ? ` (${error.code ?? "error"}: ${error.message ?? ""})` : ""}`);
  }
  return body;
}

async function serverStatus(inputs: ServerRunningInputs): Promise<string> {
  const body = await hetznerRequest(inputs, "GET", `/servers/${inputs.serverId}`);
  const status = (body.server as { status?: unknown } | undefined)?.status;
  if (typeof status !== "string") throw new Error(`Hetzner API GET /servers/${inputs.serverId} returned no server status`);
  return status;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForAction(inputs: ServerRunningInputs, actionId: number, wait: WaitOptions): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const body = await hetznerRequest(inputs, "GET", `/actions/${actionId}`);
    const action = body.action as { status?: string; error?: { code?: string; message?: string } } | undefined;
    if (action?.status === "success") return;
    if (action?.status === "error")
      throw new Error(`powering on server ${inputs.serverId} failed: ${action.error?.code ?? "error"}: ${action.error?.message ?? ""}`);
    if (Date.now() >= deadline) throw new Error(`powering on server ${inputs.serverId} did not finish within ${wait.timeoutMs / 1000} s`);
    await pause(wait.intervalMs);
  }
}

/**
 * Powers the server on when it is off; waits while it is in a transition
 * (starting, stopping, migrating, rebuilding) until it settles.
 */
export async function ensureRunning(inputs: ServerRunningInputs, wait: WaitOptions = DEFAULT_WAIT): Promise<PowerOutcome> {
  const deadline = Date.now() + wait.timeoutMs;
  const statusBefore = await serverStatus(inputs);
  let status = statusBefore;
  for (;;) {
    if (status === "running") return { statusBefore, poweredOn: false };
    if (status === "off") {
      const body = await hetznerRequest(inputs, "POST", `/servers/${inputs.serverId}/actions/poweron`);
      const actionId = (body.action as { id?: unknown } | undefined)?.id;
      if (typeof actionId !== "number") throw new Error(`Hetzner API POST /servers/${inputs.serverId}/actions/poweron returned no action`);
      await waitForAction(inputs, actionId, { intervalMs: wait.intervalMs, timeoutMs: Math.max(0, deadline - Date.now()) });
      return { statusBefore, poweredOn: true };
    }
    if (status === "deleting") throw new Error(`server ${inputs.serverId} is being deleted`);
    if (Date.now() >= deadline) throw new Error(`server ${inputs.serverId} stayed "${status}" for ${wait.timeoutMs / 1000} s`);
    await pause(wait.intervalMs);
    status = await serverStatus(inputs);
  }
}

/** Runs again when the server or its type changes; never replaced, and deleting it leaves the server alone. */
export function serverRunningDiff(olds: Partial<ServerRunningInputs>, news: ServerRunningInputs): pulumi.dynamic.DiffResult {
  const changed = olds.serverId !== news.serverId || olds.serverType !== news.serverType || olds.apiEndpoint !== news.apiEndpoint;
  return { changes: changed, replaces: [], deleteBeforeReplace: false };
}

function outputsOf(inputs: ServerRunningInputs, outcome: PowerOutcome): Record<string, unknown> {
  return {
    serverId: inputs.serverId,
    serverType: inputs.serverType,
    apiEndpoint: inputs.apiEndpoint,
    statusBefore: outcome.statusBefore,
    poweredOn: outcome.poweredOn,
  };
}

export const serverRunningProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ServerRunningInputs) {
    const outcome = await ensureRunning(inputs);
    return { id: String(inputs.serverId), outs: outputsOf(inputs, outcome) };
  },
  async diff(_id: string, olds: Partial<ServerRunningInputs>, news: ServerRunningInputs) {
    return serverRunningDiff(olds, news);
  },
  async update(_id: string, _olds: Partial<ServerRunningInputs>, news: ServerRunningInputs) {
    const outcome = await ensureRunning(news);
    return { outs: outputsOf(news, outcome) };
  },
  async delete() {
    // Deleting this resource must not power anything off.
  },
};

export interface ServerRunningArgs {
  readonly serverId: pulumi.Input<number>;
  readonly serverType: pulumi.Input<string>;
  /** The Hetzner API token (a Pulumi secret; stored encrypted in the state). */
  readonly token: pulumi.Input<string>;
  readonly apiEndpoint?: pulumi.Input<string>;
}

export class ServerRunning extends pulumi.dynamic.Resource {
  // `declare`, not a plain field: with ES2022 class fields it would be reset to undefined after super().
  declare public readonly poweredOn: pulumi.Output<boolean>;

  constructor(name: string, args: ServerRunningArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serverRunningProvider,
      name,
      {
        serverId: args.serverId,
        serverType: args.serverType,
        token: pulumi.secret(args.token),
        apiEndpoint: args.apiEndpoint ?? HETZNER_API,
        poweredOn: undefined,
        statusBefore: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "token"] },
      "compute",
      "ServerRunning",
    );
  }
}
