import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { CONTAINER_FIELDS, type FieldVerdict } from "../../infra/policy/container-inputs";
import { enforcePolicy } from "../../infra/policy/enforce";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { PolicyError, type Violation } from "../../infra/policy/report";
import { ruleNamed } from "../../infra/policy/rules";
import { graphOf } from "../support/graph";
import { PROJECT_DIR } from "../support/stack-config";
import { hardenedSettings, modelOf } from "./models";

/**
 * C16: every docker.Container field that can weaken isolation is judged, on
 * the value the container is created with: a hardened container with one
 * field changed is refused under the rule that field breaks.
 */
const model = modelOf("prod");

function hardenedInputs(): Record<string, unknown> {
  const settings = hardenedSettings();
  return { name: "vpai-web", image: "example/web:1.0.0", ...settings };
}

function violations(overrides: Record<string, unknown>): readonly Violation[] {
  return evaluateGraph([{ type: "docker:index/container:Container", name: "web", inputs: { ...hardenedInputs(), ...overrides } }], model).violations;
}

const NNP = "no-new-privileges:true";

describe("C16: container fields that weaken isolation, on the registered graph", () => {
  it("the hardened container passes", () => {
    expect(violations({})).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      "a bind mount of the Docker socket",
      { mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] },
      "C3",
      /Docker socket .* read-write/,
    ],
    [
      "a bind mount of /etc, read-write by default",
      { mounts: [{ type: "bind", source: "/etc", target: "/host/etc" }] },
      "C3",
      /host directory \/etc read-write/,
    ],
    [
      "a bind mount of the host's root, read-only, which shows the runtime sockets",
      { mounts: [{ type: "bind", source: "//", target: "/host", readOnly: true }] },
      "C14",
      /root filesystem .*holds the runtime sockets \/run\/docker.sock \(at \/host\/run\/docker.sock\)/,
    ],
    [
      "a bind mount of the host's root, read-only, with a tmpfs over its /run",
      { mounts: [{ type: "bind", source: "//", target: "/host", readOnly: true }], tmpfs: { "/host/run": "rw,noexec,nosuid,size=64m" } },
      "C3",
      /^mounts the host's root filesystem \(written \/\/\)$/,
    ],
    [
      "a bind mount of the Docker socket, read-only",
      { mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] },
      "C14",
      /Docker socket \/run\/docker.sock \(written \/var\/run\/docker.sock\): read-only or not/,
    ],
    [
      "a bind mount with shared propagation",
      { mounts: [{ type: "bind", source: "/srv/data", target: "/data", bindOptions: { propagation: "rshared" } }] },
      "C3",
      /propagation rshared/,
    ],
    [
      "a volume mount that binds /etc through the local driver",
      { mounts: [{ type: "volume", target: "/host", volumeOptions: { driverName: "local", driverOptions: { type: "none", o: "bind", device: "/etc" } } }] },
      "C3",
      /host directory \/etc read-write/,
    ],
    ["the volumes of another container", { volumes: [{ fromContainer: "vpai-alloy" }] }, "C3", /volumes of container vpai-alloy/],
    ["a host device", { devices: [{ hostPath: "/dev/sda" }] }, "C16", /host device \/dev\/sda/],
    ["a device cgroup rule", { deviceCgroupRules: ["a *:* rwm"] }, "C16", /device cgroup rule "a \*:\* rwm"/],
    ["every GPU", { gpus: "all" }, "C16", /GPUs/],
    ["a device request", { deviceRequests: [{ driver: "nvidia", count: -1 }] }, "C16", /device request/],
    ["seccomp=unconfined", { securityOpts: [NNP, "seccomp=unconfined"] }, "C16", /seccomp=unconfined/],
    ["seccomp:unconfined", { securityOpts: [NNP, "seccomp:unconfined"] }, "C16", /seccomp:unconfined/],
    ["apparmor=unconfined", { securityOpts: [NNP, "apparmor=unconfined"] }, "C16", /apparmor=unconfined/],
    ["apparmor:unconfined", { securityOpts: [NNP, "apparmor:unconfined"] }, "C16", /apparmor:unconfined/],
    ["label=disable", { securityOpts: [NNP, "label=disable"] }, "C16", /label=disable/],
    ["label:disable", { securityOpts: [NNP, "label:disable"] }, "C16", /label:disable/],
    ["the super-privileged SELinux type", { securityOpts: [NNP, "label=type:spc_t"] }, "C16", /spc_t/],
    ["systempaths=unconfined", { securityOpts: [NNP, "systempaths=unconfined"] }, "C16", /systempaths=unconfined/],
    ["no-new-privileges turned off after it was turned on", { securityOpts: [NNP, "no-new-privileges:false"] }, "C4", /no-new-privileges is not set/],
    ["no-new-privileges=FALSE", { securityOpts: ["no-new-privileges=FALSE"] }, "C4", /no-new-privileges is not set/],
    ["the host's user namespace", { usernsMode: "host" }, "C2", /userns_mode is host/],
    ["the host's cgroup namespace", { cgroupnsMode: "host" }, "C2", /cgroupns_mode is host/],
    ["the host network, as an attached network", { networksAdvanced: [{ name: "host" }] }, "C2", /network host/],
    ["SYS_ADMIN", { capabilities: { drops: ["ALL"], adds: ["SYS_ADMIN"] } }, "C5", /SYS_ADMIN/],
    ["cap_sys_admin", { capabilities: { drops: ["ALL"], adds: ["cap_sys_admin"] } }, "C5", /SYS_ADMIN/],
    ["all, lowercase", { capabilities: { drops: ["ALL"], adds: ["all"] } }, "C5", /every capability/],
    ["privileged as the string true", { privileged: "true" }, "C1", /privileged/],
    ["privileged as a secret the graph masks", { privileged: "[secret]" }, "C1", /privileged is a secret/],
    ["the docker group", { groupAdds: ["docker"] }, "C9", /group docker/],
    ["the root group by id", { groupAdds: ["0"] }, "C9", /group 0/],
    ["an unreviewed runtime", { runtime: "nvidia" }, "C16", /runtime nvidia/],
    ["a sysctl that is not namespaced", { sysctls: { "kernel.core_pattern": "|/tmp/x" } }, "C16", /kernel.core_pattern/],
    ["every exposed port published", { publishAllPorts: true }, "C11", /publishes every exposed port/],
  ])("%s", (_case, overrides, rule, message) => {
    const found = violations(overrides).filter((violation) => violation.rule === rule);
    expect(found.map((violation) => violation.message).join("\n"), JSON.stringify(violations(overrides))).toMatch(message);
    expect(found[0]!.fix).toBe(ruleNamed(rule)!.fix);
  });

  it.each<[string, Record<string, unknown>]>([
    ["no-new-privileges=1", { securityOpts: ["no-new-privileges=1"] }],
    ["a custom seccomp profile next to no-new-privileges", { securityOpts: [NNP, "seccomp=/etc/docker/seccomp-strict.json"] }],
    ["the default runtime", { runtime: "runc" }],
    ["gVisor", { runtime: "runsc" }],
    ["a namespaced sysctl", { sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" } }],
    ["a tmpfs mount", { mounts: [{ type: "tmpfs", target: "/scratch" }] }],
    ["a named volume mount", { mounts: [{ type: "volume", source: "web-data", target: "/data" }] }],
    ["a private cgroup namespace", { cgroupnsMode: "private" }],
  ])("%s passes", (_case, overrides) => {
    expect(violations(overrides)).toEqual([]);
  });

  it("C3: a named volume that binds a host directory through the local driver", () => {
    const found = evaluateGraph(
      [
        {
          type: "docker:index/volume:Volume",
          name: "web-etc",
          inputs: { name: "web-etc", driver: "local", driverOpts: { type: "none", o: "bind", device: "/var//run" } },
        },
      ],
      model,
    ).violations;
    expect(found.map((violation) => `${violation.rule} ${violation.resource}: ${violation.message}`).join("\n")).toMatch(
      /C3 volume web-etc: .*holds the runtime sockets/,
    );
  });
});

describe("C16: values the container resolves to at deploy time, in the stack transformation", () => {
  const provider = () => new docker.Provider("host-docker", { host: "unix:///var/run/docker.sock" });

  /** Registers the hardened container with `overrides` under enforcePolicy; the error the program fails with, if any. */
  async function refusal(overrides: Record<string, unknown>): Promise<{ error: unknown; names: string[] }> {
    let error: unknown;
    const onRejection = (reason: unknown) => {
      error ??= reason;
    };
    process.on("unhandledRejection", onRejection);
    try {
      const run = await graphOf(() => {
        enforcePolicy(model);
        try {
          const container = new docker.Container("web", { ...hardenedInputs(), ...overrides } as unknown as docker.ContainerArgs, { provider: provider() });
          container.id.apply(() => undefined);
        } catch (caught) {
          error = caught;
        }
      }).catch((caught: unknown) => {
        error ??= caught;
        return { resources: [] };
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { error, names: run.resources.map((resource) => resource.name) };
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  }

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["privileged as an Output", { privileged: pulumi.output(true) }, /C1 container vpai-web: runs privileged/],
    ["privileged as a secret", { privileged: pulumi.secret(true) }, /C1 container vpai-web: runs privileged/],
    ["the host network as an Output", { networkMode: pulumi.output("host") }, /C2 container vpai-web: network_mode is host/],
    [
      "a socket path as an Output",
      { volumes: [{ hostPath: pulumi.output("/var/run/docker.sock"), containerPath: "/sock" }] },
      /C3 container vpai-web: mounts the Docker socket/,
    ],
    ["a capability as an Output", { capabilities: pulumi.output({ drops: ["ALL"], adds: ["SYS_ADMIN"] }) }, /C5 container vpai-web: .*SYS_ADMIN/],
  ])("%s is refused before the container is created", async (_case, overrides, message) => {
    const { error, names } = await refusal(overrides);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toMatch(message);
    expect(names).not.toContain("web");
  });

  it("a hardened container whose fields are Outputs passes", async () => {
    const { error, names } = await refusal({ privileged: pulumi.output(false), networkMode: pulumi.output("bridge") });
    expect(error).toBeUndefined();
    expect(names).toContain("web");
  });
});

describe("C16: the list of docker.Container fields the policy knows", () => {
  /** The fields of ContainerArgs (and of its mounts and volumes) as the installed @pulumi/docker declares them. */
  function declaredFields(typeName: string, file: string): string[] {
    const text = readFileSync(resolve(PROJECT_DIR, "node_modules/@pulumi/docker", file), "utf8");
    const body = new RegExp(`export interface ${typeName} \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
    if (!body) throw new Error(`no interface ${typeName} in ${file}`);
    return [...body.matchAll(/^ {4}(\w+)\??:/gm)].map((match) => match[1]!);
  }

  it.each([
    ["ContainerArgs", "container.d.ts"],
    ["ContainerMount", "types/input.d.ts"],
    ["ContainerVolume", "types/input.d.ts"],
  ] as const)("every field of %s is judged by a rule or listed as harmless with a reason", (typeName, file) => {
    const known: Readonly<Record<string, FieldVerdict>> = CONTAINER_FIELDS[typeName];
    const declared = declaredFields(typeName, file);
    const unknown = declared.filter((field) => !(field in known));
    expect(unknown, `judge these ${typeName} fields in infra/policy/container-rules.ts, or list them as harmless with the reason`).toEqual([]);
    expect(
      Object.keys(known).filter((field) => !declared.includes(field)),
      "fields the policy lists that the provider no longer has",
    ).toEqual([]);
    for (const [field, verdict] of Object.entries(known)) {
      if ("rules" in verdict) for (const rule of verdict.rules) expect(ruleNamed(rule), `${typeName}.${field} ${rule}`).toBeDefined();
      else expect(verdict.harmless.trim().split(/\s+/).length, `${typeName}.${field} needs a reason`).toBeGreaterThanOrEqual(4);
    }
  });
});
