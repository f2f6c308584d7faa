import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { validateStackConfig } from "../../infra/config/validate";
import { ConfigError } from "../../infra/config/errors";
import { planPlatform } from "../../infra/platform-model";
import { configProblemsOf, rawConfigWithSecrets } from "../support/stack-config";

const FASTAPI = { "infra:blueprint": "fastapi" };

function fastapiModel(releases: unknown) {
  const { config } = validateStackConfig(rawConfigWithSecrets({ ...FASTAPI, "infra:releases": JSON.stringify(releases) }), BLUEPRINT_CATALOG);
  return planPlatform(config, blueprintNamed("fastapi"));
}

function modelProblems(releases: unknown): { path: string; message: string }[] {
  try {
    fastapiModel(releases);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("the releases were accepted");
}

describe("infra:releases: a stack releases an app's version by its image tag", () => {
  it("changes the tag of exactly the released app and nothing else", () => {
    const before = fastapiModel({});
    const after = fastapiModel({ backend: "1.0.1" });
    const images = (model: typeof before) => Object.fromEntries(model.hosts.flatMap((host) => host.services).map((service) => [service.name, service.image]));
    expect(images(after).backend).toEqual({ repository: "ghcr.io/fastapi-app/backend", tag: "1.0.1" });
    expect({ ...images(after), backend: undefined }).toEqual({ ...images(before), backend: undefined });
    expect(images(before).backend!.tag).toBe("1.0.0");
  });

  it.each([
    [{ backend: "latest" }, "infra:releases.backend", "C10"],
    [{ backend: "" }, "infra:releases.backend", "is not an image tag"],
    [{ backend: "-rc1" }, "infra:releases.backend", "is not an image tag"],
    [{ backend: ".hidden" }, "infra:releases.backend", "is not an image tag"],
    [{ backend: "1.0 1" }, "infra:releases.backend", "is not an image tag"],
    [{ backend: "1.0.1\nFROM evil" }, "infra:releases.backend", "control character"],
    [{ backend: "1.0.1\u2028" }, "infra:releases.backend", "control character"],
    [{ backend: "sha256:abc" }, "infra:releases.backend", "is not an image tag"],
    [{ backend: "x".repeat(129) }, "infra:releases.backend", "is not an image tag"],
    [{ backend: ["1.0.1"] }, "infra:releases.backend", "is not an image tag"],
    [{ backend: { tag: "1.0.1" } }, "infra:releases.backend", "is not an image tag"],
    [{ backend: 1.1 }, "infra:releases.backend", 'quote the tag, e.g. "1.1"'],
    [["backend", "1.0.1"], "infra:releases", "must be an object"],
  ])("refuses %j at %s", (releases, path, message) => {
    const problems = configProblemsOf(rawConfigWithSecrets({ ...FASTAPI, "infra:releases": JSON.stringify(releases) }));
    expect(problems).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it.each([
    [{ backnd: "1.0.1" }, "infra:releases.backnd", 'no service "backnd" in this platform (services that take releases: backend)'],
    [{ postgres: "17.0-alpine" }, "infra:releases.postgres", "postgres has the data role; its image changes with the blueprint"],
    [{ nginx: "1.27.4-alpine" }, "infra:releases.nginx", "nginx has the ingress role"],
    [{ prometheus: "v3.0.0" }, "infra:releases.prometheus", "prometheus has the monitoring role"],
  ])("refuses %j: only an app of this platform takes a release", (releases, path, message) => {
    expect(modelProblems(releases)).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it("reports every wrong release at once, with its own path", () => {
    const problems = modelProblems({ backnd: "1.0.1", postgres: "17.0-alpine" });
    expect(problems.map((problem) => problem.path)).toEqual(["infra:releases.backnd", "infra:releases.postgres"]);
  });
});
