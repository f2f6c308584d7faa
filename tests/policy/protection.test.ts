import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig } from "../../infra/config/validate";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { applyOverrides, readStackFile } from "../../tools/plan/stack-file";
import { planOf } from "../support/plans";
import { PROJECT_DIR, rawConfigWithSecrets } from "../support/stack-config";
import { modelOf, violationsOf } from "./models";

/**
 * A stack's data is protected unless the stack declares itself disposable;
 * how the stack or its environment is spelled decides nothing.
 */
describe("protection does not depend on the stack being spelled prod", () => {
  it("-c environment=production -c protect=false is refused", () => {
    // The prod stack file with the plan's -c overrides applied, as buildPlan and `pulumi up -c` hand it to the program.
    const file = applyOverrides(readStackFile(PROJECT_DIR, "prod"), ["environment=production", "protect=false"]);
    const raw = rawConfigWithSecrets({ "infra:environment": file.values["infra:environment"], "infra:protect": file.values["infra:protect"] });
    expect(() => validateStackConfig(raw, BLUEPRINT_CATALOG)).toThrow(ConfigError);
    expect(() => validateStackConfig(raw, BLUEPRINT_CATALOG)).toThrow(/infra:protect: .*infra:disposable: true/);
  });

  it.each(["prod", "production", "live", "staging"])("a stack labelled %s without infra:protect is protected", (environment) => {
    const { config } = validateStackConfig(rawConfigWithSecrets({ "infra:environment": environment, "infra:protect": undefined }), BLUEPRINT_CATALOG);
    expect(config.protect).toBe(true);
    expect(config.disposable).toBe(false);
  });

  it("a stack declared disposable may leave its data unprotected, and is unprotected by default", () => {
    const { config } = validateStackConfig(
      rawConfigWithSecrets({ "infra:environment": "production", "infra:disposable": "true", "infra:protect": undefined }),
      BLUEPRINT_CATALOG,
    );
    expect(config).toMatchObject({ disposable: true, protect: false });
  });

  it("the preprod stack file declares itself disposable, and prod does not", async () => {
    expect((await planOf("preprod")).resources.filter((resource) => resource.protect)).toEqual([]);
    expect(modelOf("preprod").config.disposable).toBe(true);
    expect(modelOf("prod").config.disposable).toBe(false);
  });

  it("F4 on the model: a stack that is not disposable with protect turned off in code", () => {
    const report = evaluateModel(modelOf("prod", { values: { "infra:environment": "production" }, config: (config) => ({ ...config, protect: false }) }));
    expect(violationsOf(report, "F4").map((violation) => violation.message)).toEqual([
      "a server of a stack that is not disposable without delete and rebuild protection (infra:protect is false)",
    ]);
  });

  it("CF3 on the model: a stack labelled production without HSTS", () => {
    const report = evaluateModel(
      modelOf("prod", {
        values: { "infra:environment": "production", "infra:dns": JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: true, hsts: false }) },
      }),
    );
    expect(violationsOf(report, "CF3").length).toBeGreaterThan(0);
  });

  it("F4 on the graph: an unprotected Hetzner server of a stack labelled production", () => {
    const model = modelOf("prod", { values: { "infra:environment": "production" } });
    const server = {
      type: "hcloud:index/server:Server",
      name: "main",
      inputs: { labels: { environment: "production" }, firewallIds: [1], deleteProtection: false, rebuildProtection: false },
    };
    expect(violationsOf(evaluateGraph([server], model), "F4").map((violation) => violation.message)).toEqual([
      "a server of a stack that is not disposable without delete and rebuild protection",
    ]);
  });

  it.each(["docker:index/volume:Volume", "hcloud:index/volume:Volume", "pulumi-nodejs:dynamic/storage:Bucket"])(
    "F4 on the graph: %s registered without protect on a stack that is not disposable",
    (type) => {
      const model = modelOf("prod", { values: { "infra:environment": "production" } });
      const violations = violationsOf(evaluateGraph([{ type, name: "data", inputs: {}, protect: false }], model), "F4");
      expect(violations.map((violation) => `${violation.resource}: ${violation.message}`)).toEqual([
        `data data: holds data but is not protected, on a stack that is not disposable`,
      ]);
      expect(violationsOf(evaluateGraph([{ type, name: "data", inputs: {}, protect: false }], modelOf("preprod")), "F4")).toEqual([]);
    },
  );
});
