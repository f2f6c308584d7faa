import { describe, expect, it } from "vitest";
import { planCLI, STACK_FRAME } from "../support/plan-cli";

// V5: bad input never prints a stack trace. Each case is what a user could
// type or commit; the plan answers with one message that names what to fix.

/** Runs the plan and checks the answer is a refusal: exit 1, nothing on stdout, and no stack frame. */
function refused(...args: string[]): string {
  const result = planCLI("--stack", "prod", ...args);
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^plan failed: /);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toMatch(/\b(Error|TypeError|YAMLParseError|PolicyError|ConfigError): /);
  return result.stderr;
}

describe("a policy violation (V5)", () => {
  it.each([
    ["prod without protection", ["-c", "protect=false"], ["policy: 1 violation", "F4 server vpai-main", "fix: "]],
    ["unproxied web records on prod", ["-c", 'dns={"zoneId":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","proxied":false,"hsts":true}'], ["CF4 record vpai-dns-n8n", "fix: set infra:dns.proxied: true"]],
  ])("%s names the rule and the fix, without a stack trace", (_case, args, expected) => {
    const stderr = refused(...args);
    for (const text of expected) expect(stderr).toContain(text);
  });
});
