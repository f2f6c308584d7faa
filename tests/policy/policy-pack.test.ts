import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { hostPrepareScript } from "../../components/compute/host-setup";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { UNKNOWN_SENTINEL } from "../../infra/policy/input-values";
import { resourceViolations, stackModel, stackOfUrn, stackViolations, type PolicyInput } from "../../policy-pack/checklist";
import { CHECKLIST_POLICIES } from "../../policy-pack/policies";
import { planOf } from "../support/plans";
import { PROJECT_DIR, TEST_HOST_KEY } from "../support/stack-config";

/**
 * The CrossGuard pack runs the same rule functions on the inputs the engine
 * resolved: its validation functions, fed resources as the engine hands them
 * over (secrets unwrapped, unknowns as the engine's placeholder in preview).
 */
const prod = stackModel("prod");
const urn = (type: string, name: string) => `urn:pulumi:prod::infra::${type}::${name}`;

/** A shipped prod resource, resolved: the recorded graph's inputs with the given ones replaced. */
async function shipped(type: string, name: string, props: Record<string, unknown> = {}): Promise<PolicyInput> {
  const resource = (await planOf("prod")).resources.find((candidate) => candidate.type === type && candidate.name === name);
  if (!resource) throw new Error(`no ${type} ${name}`);
  return { type, name, props: { ...resource.inputs, ...props }, protect: resource.protect };
}

/** Runs the pack's resource policy on one resource, the way the engine calls it, and collects what it reports. */
function reported(resource: PolicyInput): string[] {
  const policy = CHECKLIST_POLICIES.find((candidate) => candidate.name === "checklist-resource") as ResourceValidationPolicy;
  const messages: string[] = [];
  const args = {
    type: resource.type,
    name: resource.name,
    props: resource.props,
    urn: urn(resource.type, resource.name),
    opts: { protect: resource.protect ?? false },
  };
  void (policy.validateResource as (args: unknown, report: (message: string) => void) => void)(args, (message) => messages.push(message));
  return messages;
}

describe("the policy pack", () => {
  it("is a nodejs CrossGuard pack whose @pulumi/policy is pinned to an exact version", () => {
    const manifest = parse(readFileSync(resolve(PROJECT_DIR, "policy-pack/PulumiPolicy.yaml"), "utf8")) as { runtime: string };
    expect(manifest.runtime).toBe("nodejs");
    const pkg = JSON.parse(readFileSync(resolve(PROJECT_DIR, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies["@pulumi/policy"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(CHECKLIST_POLICIES.map((policy) => [policy.name, policy.enforcementLevel])).toEqual([
      ["checklist-resource", "mandatory"],
      ["checklist-stack", "mandatory"],
    ]);
  });

  it("type-checks under the options ts-node gets when Pulumi starts it in its own directory, where no tsconfig.json is", () => {
    // @pulumi/pulumi's cmd/run-policy-pack type-checks with these, strict off:
    // a narrowing only strictNullChecks makes stops the pack from starting.
    const check = spawnSync(
      resolve(PROJECT_DIR, "node_modules/.bin/tsc"),
      ["--noEmit", "--target", "ES2020", "--module", "nodenext", "--moduleResolution", "nodenext", "--types", "node", "policy-pack/index.ts"],
      { cwd: PROJECT_DIR, encoding: "utf8" },
    );
    const ours = check.stdout.split("\n").filter((line) => /error TS/.test(line) && !line.includes("node_modules/"));
    expect(ours).toEqual([]);
  }, 120_000);

  it("reads the stack from the URN and plans the model from its stack file", () => {
    expect(stackOfUrn("urn:pulumi:preprod::infra::docker:index/container:Container::vpai-main-n8n")).toBe("preprod");
    expect(stackModel("preprod").config.disposable).toBe(true);
    expect(prod.config.adminCidrs).toEqual(["198.51.100.7/32", "100.64.0.0/10"]);
  });

  it("passes every shipped prod resource and the shipped stack as a whole", async () => {
    const plan = await planOf("prod");
    const resources = plan.resources.map((resource) => ({ type: resource.type, name: resource.name, props: resource.inputs, protect: resource.protect }));
    expect(resources.flatMap((resource) => reported(resource))).toEqual([]);
    expect(stackViolations(prod, resources)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["privileged, resolved from a secret", { privileged: true }, /^C1 container vpai-n8n: runs privileged/],
    ["the host's pid namespace", { pidMode: "host" }, /^C2 container vpai-n8n: pid_mode is host/],
    [
      "the Docker socket through a mount",
      { mounts: [{ type: "bind", source: "//var/run/docker.sock", target: "/sock" }] },
      /^C3 container vpai-n8n: mounts the Docker socket/,
    ],
    ["seccomp turned off", { securityOpts: ["no-new-privileges:true", "seccomp:unconfined"] }, /^C16 container vpai-n8n: security_opts seccomp:unconfined/],
    ["a real deployment's image id", { image: `sha256:${"a".repeat(64)}` }, /^$/],
  ])("refuses a container with %s", async (_case, props, message) => {
    const messages = reported(await shipped("docker:index/container:Container", "vpai-main-n8n", props));
    if (message.source === "^$") expect(messages).toEqual([]);
    else expect(messages.join("\n")).toMatch(new RegExp(message.source, "m"));
  });

  it("judges during preview only what is known: an unknown flag waits for `up`", async () => {
    expect(reported(await shipped("docker:index/container:Container", "vpai-main-n8n", { privileged: UNKNOWN_SENTINEL, image: UNKNOWN_SENTINEL }))).toEqual([]);
  });

  it("refuses a host command by what it runs, and an unprotected volume", async () => {
    const connection = { host: "203.0.113.20", port: 22, user: "deploy", hostPublicKey: TEST_HOST_KEY };
    const command = {
      type: SSH_COMMAND_TYPE,
      name: "vpai-main-tune",
      props: { connection, create: "sudo bash -s", stdin: "iptables -I DOCKER-USER -j ACCEPT\n" },
    };
    expect(reported(command).join("\n")).toMatch(/^F2 host command vpai-main-tune: .*opens 5432/m);
    const volume = await shipped("docker:index/volume:Volume", "vpai-main-postgres-data");
    expect(reported({ ...volume, protect: false }).join("\n")).toMatch(/^F4 data vpai-main-postgres-data: holds data but is not protected/);
  });

  it("refuses on the whole stack an existing host prepared without a firewall command", async () => {
    const policy = CHECKLIST_POLICIES.find((candidate) => candidate.name === "checklist-stack") as StackValidationPolicy;
    const plan = await planOf("prod");
    const resources = plan.resources
      .filter((resource) => resource.type !== SSH_COMMAND_TYPE || !resource.inputs.stdin?.toString().includes("ufw default deny incoming"))
      .map((resource) => ({
        type: resource.type,
        name: resource.name,
        props: resource.inputs,
        urn: urn(resource.type, resource.name),
        opts: { protect: resource.protect },
      }));
    expect(
      resources.some(
        (resource) => resource.type === SSH_COMMAND_TYPE && String(resource.props.stdin).includes(hostPrepareScript({ sshUser: "deploy" }).slice(0, 40)),
      ),
    ).toBe(true);
    const messages: string[] = [];
    void (policy.validateStack as (args: unknown, report: (message: string) => void) => void)({ resources }, (message) => messages.push(message));
    expect(messages.join("\n")).toMatch(/^H6 host vpai-main: an existing host without a UFW firewall command/m);
  });

  it("judges resources with secrets unwrapped, as the engine hands them over", () => {
    const violations = resourceViolations(prod, {
      type: "docker:index/container:Container",
      name: "vpai-main-n8n",
      props: { name: "vpai-n8n", image: "n8nio/n8n:1.72.1", privileged: "true" },
    });
    expect(violations.map((violation) => violation.rule)).toContain("C1");
  });
});
