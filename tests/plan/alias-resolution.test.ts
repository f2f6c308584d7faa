import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { graphOf, named } from "../support/graph";

// The URNs tools/plan/mock-run.ts lists for a resource's aliases, by the
// engine's rules (generateAliases and collapseAliasToUrn in pulumi's
// pkg/resource/deploy/step_generator.go). tests/engine/tree-move.test.ts
// checks the program's own patterns against the real engine's log; these are
// the rules it does not meet there.

class Box extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions = {}) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

const urn = (qualifiedType: string, name: string) => `urn:pulumi:test::infra::${qualifiedType}::${name}`;

describe("alias resolution in the plan", () => {
  it("carries an alias naming another parent down under each URN the parent answers to, as the engine does", async () => {
    const run = await graphOf(() => {
      const host = new Box("t:index:Host", "host");
      const monitoring = new Box("t:index:Monitoring", "mon", { parent: host, aliases: [{ parent: pulumi.rootStackResource }] });
      new Box("t:index:Service", "mon-grafana", { parent: monitoring, aliases: [{ name: "grafana", parent: pulumi.rootStackResource }] });
    });
    expect(named(run, "t:index:Service", "mon-grafana").aliases).toEqual([
      urn("t:index:Service", "grafana"),
      urn("t:index:Monitoring$t:index:Service", "mon-grafana"),
      // The root alias, carried under the parent's old URN: the engine tries it (it was missing from the plan's list).
      urn("t:index:Monitoring$t:index:Service", "grafana"),
    ]);
  });

  it("renames the parent's name prefix in an alias's name when the parent was renamed", async () => {
    const run = await graphOf(() => {
      const renamed = new Box("t:index:Server", "new", { aliases: [{ name: "old" }] });
      new Box("t:index:Command", "new-setup", { parent: renamed, aliases: [{ type: "t:index:PreviousCommand" }] });
    });
    expect(named(run, "t:index:Command", "new-setup").aliases).toEqual([
      urn("t:index:Server$t:index:PreviousCommand", "new-setup"),
      urn("t:index:Server$t:index:Command", "old-setup"),
      urn("t:index:Server$t:index:PreviousCommand", "old-setup"),
    ]);
  });

  it("puts an alias naming a parent that moved under that parent's old URN as well", async () => {
    const run = await graphOf(() => {
      const platform = new Box("t:index:Platform", "platform");
      const moved = new Box("t:index:Server", "server", { parent: platform, aliases: [{ parent: pulumi.rootStackResource }] });
      new Box("t:index:Disk", "disk", { parent: platform, aliases: [{ parent: moved }] });
    });
    const aliases = named(run, "t:index:Disk", "disk").aliases;
    expect(aliases).toContain(urn("t:index:Platform$t:index:Server$t:index:Disk", "disk"));
    expect(aliases).toContain(urn("t:index:Server$t:index:Disk", "disk"));
  });

  it("lists nothing for a resource without aliases under a parent without any", async () => {
    const run = await graphOf(() => {
      const parent = new Box("t:index:Host", "host");
      new Box("t:index:Service", "host-app", { parent });
    });
    expect(named(run, "t:index:Service", "host-app").aliases).toEqual([]);
  });
});
