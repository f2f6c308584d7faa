import { describe, expect, it } from "vitest";
import type { ServiceSpec, Waiver } from "../../components/container/service-spec";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { NEVER_WAIVED, reasonProblem } from "../../infra/policy/waivers";
import { textReport } from "../../tools/plan/text-report";
import { planOf } from "../support/plans";
import { modelOf, violationsOf, type ModelChanges } from "./models";

/**
 * A waiver silences a rule only with a reason a reviewer can read, never
 * silences what no service may do, and shows in the plan and the golden graph
 * with what it silences.
 */
const REASON = "the image writes its cache under /var/lib/app at start and has no setting to move it elsewhere";

const onService = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ service: { name, change } });
const waived =
  (waivers: Waiver[]) =>
  (spec: ServiceSpec): ServiceSpec => ({ ...spec, waivers: [...spec.waivers, ...waivers] });
const socketReadWrite = (spec: ServiceSpec): ServiceSpec => ({
  ...spec,
  binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: false }],
});

describe("a waiver's reason", () => {
  it("a waiver with the reason '.' does not silence C3 for a read-write Docker socket on a public service", () => {
    const report = evaluateModel(
      modelOf(
        "prod",
        onService("n8n", (spec) => waived([{ rule: "C3", reason: "." }])(socketReadWrite(spec))),
      ),
    );
    const c3 = violationsOf(report, "C3").filter((violation) => violation.resource === "container vpai-n8n");
    expect(c3.map((violation) => violation.message).join("\n")).toMatch(/Docker socket .* read-write/);
    expect(c3.map((violation) => violation.message).join("\n")).toMatch(/waiver of C3 has no reason a reviewer can read/);
    expect(report.waivers.filter((waiver) => waiver.resource === "container vpai-n8n" && waiver.rule === "C3")).toEqual([]);
  });

  it.each([
    ".",
    "   ",
    "-",
    "n/a",
    "TODO",
    "tbd",
    "x",
    "needed",
    "required for it",
    "....................",
    "aaaaaaaaaaaaaaaaaaaaaaaaa",
    "see above see above",
    "ok ok ok ok ok ok ok",
  ])("%j is not a reason", (reason) => {
    expect(reasonProblem(reason)).toBeDefined();
    const report = evaluateModel(
      modelOf(
        "prod",
        onService("redis", (spec) => waived([{ rule: "C6", reason }])({ ...spec, readOnlyRootFilesystem: false })),
      ),
    );
    expect(
      violationsOf(report, "C6")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/root filesystem is writable/);
  });

  it("a reason that says why silences a waivable rule", () => {
    expect(reasonProblem(REASON)).toBeUndefined();
    const report = evaluateModel(
      modelOf(
        "prod",
        onService("redis", (spec) => waived([{ rule: "C6", reason: REASON }])({ ...spec, readOnlyRootFilesystem: false })),
      ),
    );
    expect(violationsOf(report, "C6")).toEqual([]);
    expect(report.waivers).toContainEqual({ rule: "C6", resource: "container vpai-redis", reason: REASON, silences: ["root filesystem is writable"] });
  });
});

describe("what no waiver silences, whatever its reason", () => {
  it("the list names privileged, host namespaces, a writable Docker socket, SSH open to the world and a public admin UI without login", () => {
    const rules = NEVER_WAIVED.map((entry) => entry.rule);
    for (const rule of ["C1", "C2", "C3", "C11", "C14", "F1"]) expect(rules).toContain(rule);
  });

  it.each<[string, string, (spec: ServiceSpec) => ServiceSpec, RegExp]>([
    ["C3", "a read-write Docker socket", socketReadWrite, /Docker socket .* read-write/],
    [
      "C14",
      "the Docker socket, read-only, for a service other than the socket proxy",
      (spec) => ({ ...spec, binds: [{ hostPath: "/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] }),
      /mounts the Docker socket \/run\/docker.sock: read-only or not/,
    ],
    [
      "C14",
      "/var/run bound read-only as a directory",
      (spec) => ({ ...spec, binds: [{ hostPath: "/var/run", target: "/var/run", readOnly: true }] }),
      /holds the runtime sockets \/run\/docker.sock/,
    ],
    ["C5", "SYS_ADMIN", (spec) => ({ ...spec, capAdd: ["SYS_ADMIN"] }), /SYS_ADMIN/],
    ["C5", "every capability", (spec) => ({ ...spec, capAdd: ["all"] }), /every capability/],
    [
      "C11",
      "a database published on a public address",
      (spec) => ({ ...spec, ports: [{ container: 5678, publish: { host: 5678, address: "0.0.0.0" } }] }),
      /public address/,
    ],
  ])("%s: %s", (rule, _case, change, message) => {
    const report = evaluateModel(
      modelOf(
        "prod",
        onService("n8n", (spec) => waived([{ rule, reason: REASON }])(change(spec))),
      ),
    );
    const found = violationsOf(report, rule).filter((violation) => violation.resource === "container vpai-n8n");
    expect(found.map((violation) => violation.message).join("\n"), JSON.stringify(report.violations)).toMatch(message);
    expect(found.map((violation) => violation.message).join("\n")).toMatch(/no waiver silences this/);
  });

  it.each(["C1", "C2", "C14"])("a waiver of %s is itself a violation", (rule) => {
    const report = evaluateModel(modelOf("prod", onService("n8n", waived([{ rule, reason: REASON }]))));
    expect(
      violationsOf(report, rule)
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(new RegExp(`${rule} is never waived`));
  });

  it.each<[string, string, Record<string, unknown>, RegExp]>([
    ["C1", "privileged", { privileged: true }, /runs privileged/],
    ["C2", "the host's pid namespace", { pidMode: "host" }, /pid_mode is host/],
    ["C16", "seccomp unconfined", { securityOpts: ["no-new-privileges:true", "seccomp=unconfined"] }, /seccomp=unconfined/],
  ])("%s on the registered graph (%s), with the service's waiver", (rule, _case, overrides, message) => {
    const model = modelOf("prod", onService("n8n", waived([{ rule, reason: REASON }])));
    const violations = evaluateGraph(
      [
        {
          type: "docker:index/container:Container",
          name: "vpai-main-n8n",
          inputs: {
            name: "vpai-n8n",
            image: "n8nio/n8n:1.72.1",
            user: "1000",
            readOnly: true,
            memory: 512,
            ulimits: [{ name: "nproc", hard: 256 }],
            healthcheck: { tests: ["CMD", "true"] },
            capabilities: { drops: ["ALL"], adds: [] },
            securityOpts: ["no-new-privileges:true"],
            logOpts: { "max-size": "10m", "max-file": "3" },
            restart: "unless-stopped",
            ...overrides,
          },
        },
      ],
      model,
    ).violations;
    expect(
      violations
        .filter((violation) => violation.rule === rule)
        .map((violation) => violation.message)
        .join("\n"),
      JSON.stringify(violations),
    ).toMatch(message);
  });
});

describe("waivers where reviewers look", () => {
  it("the JSON plan, the text plan and the golden graph list each waiver with what it silences", async () => {
    const plan = await planOf("prod");
    const alloy = plan.policy.waivers.find((waiver) => waiver.rule === "C3" && waiver.resource === "container vpai-alloy")!;
    expect(alloy.silences.join("\n")).toMatch(/mounts the host's root filesystem/);
    const text = textReport(plan);
    expect(text).toContain(`waived C3   container vpai-alloy: ${alloy.reason}`);
    expect(text).toMatch(/\n {6}silences: mounts the host's root filesystem/);
    expect(text).toMatch(/never waived: C1 .*C2 /);
  });
});
