import { createHash } from "node:crypto";

/**
 * Searching for a stack's secrets where C15 says they must not be: in a
 * container's registered inputs (the graph tests), in what `docker inspect`
 * shows of a running container, in the command lines `ps` shows on a host
 * (the testbed).
 */

/**
 * The forms a secret could take on its way into an input: as it is,
 * percent-encoded in a URL, escaped in JSON or with backslashes (a libpq
 * password file), base64, or hashed.
 */
export function formsOf(value: string): string[] {
  const sha256 = createHash("sha256").update(value).digest("hex");
  return [
    ...new Set([
      value,
      encodeURIComponent(value),
      JSON.stringify(value).slice(1, -1),
      value.replace(/[\\:]/g, "\\$&"),
      Buffer.from(value).toString("base64"),
      sha256.slice(0, 16),
    ]),
  ];
}

/** The secrets, by key, whose value shows in `text` in any of its forms. */
export function secretsIn(text: string, secrets: Readonly<Record<string, string>>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => formsOf(value).some((form) => text.includes(form)))
    .map(([key]) => key);
}

export interface Exposure {
  readonly container: string;
  /** Where in `docker inspect`: `Config.Env POSTGRES_PASSWORD`, `Config.Labels.x`, `Config.Cmd[2]`, `Args[1]`. */
  readonly path: string;
  readonly secret: string;
}

/** One container as `docker inspect` shows it; only its name is read by name, the rest is searched whole. */
export interface InspectDocument {
  readonly Name: string;
  readonly [field: string]: unknown;
}

/**
 * Where the stack's secrets show in `docker inspect` of its containers: every
 * string of each document, keys included (a label's name as much as its
 * value), by its path; an environment entry by its variable's name, so one
 * secret under two names is two exposures. A container in `waived` (its
 * service waives C15) may carry secrets in `Config.Env`, and nowhere else.
 */
export function secretsInInspect(documents: Iterable<InspectDocument>, secrets: Readonly<Record<string, string>>, waived: ReadonlySet<string>): Exposure[] {
  const exposures: Exposure[] = [];
  for (const document of documents) {
    const container = document.Name.replace(/^\//, "");
    const visit = (value: unknown, path: string): void => {
      if (typeof value === "string") {
        const environment = /^Config\.Env\[\d+\]$/.test(path);
        const where = environment ? `Config.Env ${value.split("=", 1)[0]}` : path;
        if (environment && waived.has(container)) return;
        for (const secret of secretsIn(value, secrets)) exposures.push({ container, path: where, secret });
      } else if (Array.isArray(value)) {
        value.forEach((item, index) => visit(item, `${path}[${index}]`));
      } else if (value !== null && typeof value === "object") {
        for (const [key, item] of Object.entries(value)) {
          const child = path ? `${path}.${key}` : key;
          for (const secret of secretsIn(key, secrets)) exposures.push({ container, path: `${child} (its name)`, secret });
          visit(item, child);
        }
      }
    };
    visit(document, "");
  }
  return exposures;
}
