import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BLUEPRINT_CATALOG } from "../infra/blueprints";
import { STACK_FILE_SCHEMA_PATH, stackFileJSONSchema } from "../infra/config/stack-file-schema";

/** The committed JSON Schema's text: the schema generated from infra/config/schema.ts, two-space JSON with a final newline. */
export function stackFileSchemaText(): string {
  return `${JSON.stringify(stackFileJSONSchema(BLUEPRINT_CATALOG), null, 2)}\n`;
}

/**
 * `tsx tools/config-schema.ts` rewrites docs/stack-config.schema.json, the
 * JSON Schema of the stack files that editors read; `--check` only says
 * whether the committed file is current, and exits 1 when it is not.
 */
function main(args: readonly string[]): number {
  const path = resolve(__dirname, "..", STACK_FILE_SCHEMA_PATH);
  const text = stackFileSchemaText();
  if (args.includes("--check")) {
    let committed: string;
    try {
      committed = readFileSync(path, "utf8");
    } catch {
      committed = "";
    }
    if (committed === text) return 0;
    process.stderr.write(`${STACK_FILE_SCHEMA_PATH} is not the schema infra/config/schema.ts generates; run: tsx tools/config-schema.ts\n`);
    return 1;
  }
  writeFileSync(path, text);
  process.stdout.write(`${STACK_FILE_SCHEMA_PATH}: written\n`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
