import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./tools";

export interface ValidatorResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Writes `content` to a temporary file and runs a real validator on it. */
export function validateFile(tool: string, args: (file: string) => string[], content: string, fileName = "input"): ValidatorResult {
  const dir = mkdtempSync(join(tmpdir(), `${tool}-`));
  try {
    const file = join(dir, fileName);
    writeFileSync(file, content);
    const result = spawnSync(requireTool(tool), args(file), { encoding: "utf8" });
    if (result.error) throw result.error;
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const shellcheck = (script: string) => validateFile("shellcheck", (file) => ["--shell=bash", "--severity=style", file], script, "script.sh");
export const cloudInitSchema = (userData: string) => validateFile("cloud-init", (file) => ["schema", "--config-file", file], userData, "user-data");
