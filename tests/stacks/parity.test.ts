import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { describe, expect, it } from "vitest";
import type { PlanResult } from "../../tools/plan/plan";
import { planOf } from "../support/plans";

/**
 * prod and preprod are one program: the same platform, with only the values
 * their stack files state differently. Server resources differ by kind
 * (existing VPS vs Hetzner), which is itself one of those stated values.
 */
const SERVER_LEVEL_TYPES = new Set([
  "hcloud:index/server:Server",
  "hcloud:index/sshKey:SshKey",
  "hcloud:index/firewall:Firewall",
  "hcloud:index/volume:Volume",
  "hcloud:index/volumeAttachment:VolumeAttachment",
  SSH_COMMAND_TYPE,
  // The host key the program makes for a Hetzner server; an existing VPS's is in its config.
  "pulumi-nodejs:dynamic/compute:SSHHostKey",
  // Powers a Hetzner server on again after a resize; an existing VPS has no API to ask.
  "pulumi-nodejs:dynamic/compute:ServerRunning",
  "pulumi:pulumi:Stack",
]);

/** The stated differences between the two stack files, as text substitutions. */
const STATED: [RegExp, string][] = [
  [/preprod\.vpai\.example\.com/g, "<domain>"],
  [/vpai\.example\.com/g, "<domain>"],
  [/"bucketName":"[a-z0-9-]+-(backups|shared)"/g, '"bucketName":"<bucketPrefix>-$1"'],
  [/203\.0\.113\.\d+/g, "<address>"],
  // vmalert labels every alert with the environment, so prod and preprod mail apart.
  [/environment=(preprod|prod)\b/g, "environment=<environment>"],
];

function topology(plan: PlanResult): string[] {
  const serverLevel = new Set(plan.resources.filter((resource) => SERVER_LEVEL_TYPES.has(resource.type)).map((resource) => resource.name));
  return plan.resources
    .filter((resource) => !SERVER_LEVEL_TYPES.has(resource.type))
    .map((resource) => {
      // URNs carry the stack name; the Docker provider waits for whichever
      // host-preparation step its server kind has.
      const { protect: _protect, urn: _urn, parentUrn: _parentUrn, aliases: _aliases, ...rest } = resource;
      rest.dependsOn = rest.dependsOn.filter((name) => !serverLevel.has(name));
      if (rest.parent === `infra-${plan.stack}`) rest.parent = "<stack>";
      let text = JSON.stringify(rest);
      for (const [pattern, replacement] of STATED) text = text.replace(pattern, replacement);
      return text;
    })
    .sort();
}

describe("prod/preprod parity", () => {
  it("both stacks register the same platform: components, containers, networks, DNS and buckets", async () => {
    const [prod, preprod] = [await planOf("prod"), await planOf("preprod")];
    const prodTopology = topology(prod);
    const preprodTopology = topology(preprod).filter((line) => !line.includes('"settingId":"security_header"'));
    const prodWithoutHsts = prodTopology.filter((line) => !line.includes('"settingId":"security_header"'));
    expect(prodWithoutHsts).toEqual(preprodTopology);
  });

  it("differs only in the values the stack files state", async () => {
    const [prod, preprod] = [await planOf("prod"), await planOf("preprod")];
    // protect: prod's data resources are protected, preprod's are not (infra:protect).
    expect(prod.resources.some((resource) => resource.protect)).toBe(true);
    expect(preprod.resources.some((resource) => resource.protect)).toBe(false);
    // dns.hsts: only prod sends HSTS from the edge.
    const hsts = (plan: PlanResult) => plan.resources.some((resource) => resource.inputs.settingId === "security_header");
    expect([hsts(prod), hsts(preprod)]).toEqual([true, false]);
    // servers: an adopted VPS in prod, a Hetzner CX23 in preprod; each stack's ops host is a Hetzner server.
    const hetzner = (plan: PlanResult) => plan.resources.filter((resource) => resource.type === "hcloud:index/server:Server").map((resource) => resource.name);
    expect(hetzner(prod)).toEqual(["vpai-ops"]);
    expect(hetzner(preprod).sort()).toEqual(["vpai-main", "vpai-ops"]);
    // Same components with the same names on both sides.
    const components = (plan: PlanResult) =>
      plan.resources
        .filter((resource) => resource.type.startsWith("infra:"))
        .map((resource) => `${resource.type} ${resource.name}`)
        .sort();
    expect(components(prod)).toEqual(components(preprod));
  });
});
