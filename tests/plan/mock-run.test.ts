import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { recordGraph } from "../../tools/plan/mock-run";

/** The mock run turns stack traces off while the program runs (Pulumi captures one per promise), and gives them back. */
describe("the mock run's stack traces", () => {
  const config = { project: "infra", stack: "test", values: {}, secretKeys: new Set<string>() };

  it("are off while the program runs and back as they were afterwards", async () => {
    const before = Error.stackTraceLimit;
    let during: number | undefined;
    await recordGraph(config, () => {
      during = Error.stackTraceLimit;
      new pulumi.ComponentResource("test:index:Thing", "thing");
      return {};
    });
    expect(during).toBe(0);
    expect(Error.stackTraceLimit).toBe(before);
  });
});
