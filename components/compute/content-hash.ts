import { createHash } from "node:crypto";

/** A short, stable fingerprint of generated content, used as a re-run trigger. */
export function contentHash(content: string): string {
  return createHash("sha256").update(content).digest("hex").slice(0, 16);
}
