import { describe, expect, it } from "vitest";
import type { ServiceSpec } from "../../components/container/service-spec";
import { evaluateModel } from "../../infra/policy/model-policy";
import { ruleNamed } from "../../infra/policy/rules";
import { modelOf, violationsOf, type ModelChanges } from "./models";

/**
 * C15 on the model: a secret in a service's environment is a violation,
 * whatever shape it takes there, unless the service waives C15 with its
 * reason. Each case is a way a blueprint could put one back.
 */
const onService = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ service: { name, change } });

function c15(changes: ModelChanges): { resource: string; message: string; fix: string }[] {
  return violationsOf(evaluateModel(modelOf("preprod", changes)), "C15");
}

describe("C15: secrets reach containers as files, not environment variables", () => {
  it("a secret in the environment is named with its variable and key", () => {
    const found = c15(onService("postgres", (spec) => ({ ...spec, env: { ...spec.env, POSTGRES_PASSWORD: { secret: "infra:postgresPassword" } } })));
    expect(found.map((violation) => violation.resource)).toContain("container vpai-postgres");
    const message = found.find((violation) => violation.resource === "container vpai-postgres")!.message;
    expect(message).toMatch(/POSTGRES_PASSWORD carries infra:postgresPassword/);
    expect(found[0]!.fix).toBe(ruleNamed("C15")!.fix);
  });

  it("a secret inside a connection URL (a template) is one too", () => {
    const found = c15(
      onService("grafana", (spec) => ({
        ...spec,
        env: { ...spec.env, GF_DATABASE_URL: { secretTemplate: "postgres://grafana:{{infra:postgresPassword}}@postgres:5432/grafana" } },
      })),
    );
    expect(
      found
        .filter((violation) => violation.resource === "container vpai-grafana")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/GF_DATABASE_URL carries infra:postgresPassword/);
  });

  it("the same secret under two names is reported under both", () => {
    const found = c15(
      onService("redis", (spec) => ({
        ...spec,
        env: { ...spec.env, REDIS_PASSWORD: { secret: "infra:redisPassword" }, REDISCLI_AUTH: { secret: "infra:redisPassword" } },
      })),
    );
    const messages = found
      .filter((violation) => violation.resource === "container vpai-redis")
      .map((violation) => violation.message)
      .join("\n");
    expect(messages).toMatch(/REDIS_PASSWORD carries infra:redisPassword/);
    expect(messages).toMatch(/REDISCLI_AUTH carries infra:redisPassword/);
  });

  it("a secret file read into a command-line argument is one too, which ps would show; read into a variable it is not", () => {
    const argument = c15(
      onService("redis", (spec) => ({ ...spec, command: ["sh", "-c", 'exec redis-server --requirepass "$(cat /run/secrets/redis-password)"'] })),
    );
    expect(
      argument
        .filter((violation) => violation.resource === "container vpai-redis")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/its command reads secret file redis-password into a command-line argument/);
    const backquoted = c15(
      onService("redis", (spec) => ({
        ...spec,
        healthcheck: { ...spec.healthcheck, test: ["CMD-SHELL", "redis-cli -a `cat /run/secrets/redis-password` ping"] },
      })),
    );
    expect(backquoted.map((violation) => violation.message).join("\n")).toMatch(/its health check reads secret file redis-password/);
    // The shipped health check sets REDISCLI_AUTH for redis-cli's process from the file.
    expect(c15({}).filter((violation) => violation.resource === "container vpai-redis")).toEqual([]);
  });

  it("a waiver with its reason accepts the environment, and the report lists it", () => {
    const changes = onService("n8n", (spec) => ({
      ...spec,
      env: { ...spec.env, N8N_SMTP_PASS: { secret: "infra:postgresPassword" } },
      waivers: [...spec.waivers, { rule: "C15", reason: "a test: the image reads this setting from its environment only" }],
    }));
    const report = evaluateModel(modelOf("preprod", changes));
    expect(violationsOf(report, "C15").filter((violation) => violation.resource === "container vpai-n8n")).toEqual([]);
    expect(report.waivers).toContainEqual(
      expect.objectContaining({ rule: "C15", resource: "container vpai-n8n", reason: "a test: the image reads this setting from its environment only" }),
    );
  });

  it("a waiver without a reason accepts nothing", () => {
    const found = c15(
      onService("postgres", (spec) => ({
        ...spec,
        env: { ...spec.env, POSTGRES_PASSWORD: { secret: "infra:postgresPassword" } },
        waivers: [...spec.waivers, { rule: "C15", reason: " " }],
      })),
    );
    expect(found.map((violation) => violation.message).join("\n")).toMatch(/POSTGRES_PASSWORD carries infra:postgresPassword/);
  });

  it("a waiver on a service with no secret in its environment matches nothing, and says so", () => {
    const found = c15(
      onService("diun", (spec) => ({
        ...spec,
        waivers: [...spec.waivers, { rule: "C15", reason: "a test: diun is given no secret to read from its environment" }],
      })),
    );
    expect(found).toContainEqual(expect.objectContaining({ resource: "container vpai-diun", message: expect.stringMatching(/matches nothing/) }));
  });
});
