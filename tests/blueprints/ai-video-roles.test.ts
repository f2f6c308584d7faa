import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretFileTarget } from "../../components/container/secret-files";
import { aiVideo, API_ROLES_SCRIPT_PATH, AUTHENTICATOR_PASSWORD_FILE } from "../../infra/blueprints/ai-video";
import { roleFacts, reachableRoles } from "../../infra/policy/data-api-rules";
import { startPostgres, type LocalPostgres } from "../backup/local-servers";
import { requireTool } from "../support/tools";

/**
 * E4 live: ai-video's init script for PostgREST's roles, run by the real
 * sh and psql against a real PostgreSQL, as the image's entrypoint runs it
 * on an empty volume. The roles it creates are what the policy reads from
 * the script: none a superuser, authenticator able to log in with its
 * password (every reserved character in it) and to become anon, never the
 * superuser.
 */
const PASSWORD = "Tb-auth/+=@:?#%'\"$x";

let postgres: LocalPostgres;
const script = () =>
  aiVideo
    .build({ domain: "example.com", environment: "prod" })
    .services.find((service) => service.name === "postgres")!
    .files.find((file) => file.path === API_ROLES_SCRIPT_PATH)!;

let dir: string;

beforeAll(async () => {
  postgres = await startPostgres({ passwordAuthentication: true });
  // The script reads the authenticator's password from its secret file (C15); here the file is in a directory of the test's.
  dir = mkdtempSync(join(tmpdir(), "ai-video-roles-"));
  const passwordFile = join(dir, AUTHENTICATOR_PASSWORD_FILE);
  writeFileSync(passwordFile, PASSWORD, { mode: 0o400 });
  const content = script().content;
  if (!content.includes(secretFileTarget({ name: AUTHENTICATOR_PASSWORD_FILE })))
    throw new Error("the roles script does not read the authenticator's password file");
  const run = spawnSync("sh", ["-c", content.replaceAll(secretFileTarget({ name: AUTHENTICATOR_PASSWORD_FILE }), passwordFile)], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...postgres.env, POSTGRES_USER: "postgres" },
  });
  if (run.status !== 0) throw new Error(`the roles script failed: ${run.stderr}`);
}, 120_000);

afterAll(async () => {
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** psql as `user` over TCP with `password`, or its error. */
function psqlAs(user: string, password: string, sql: string): { ok: boolean; output: string } {
  const result = spawnSync(
    requireTool("psql"),
    ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(postgres.port), "-U", user, "-d", "postgres", "-c", sql],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PGPASSWORD: password },
    },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

describe("PostgREST's roles, created by ai-video's database init script", () => {
  it("are the roles the policy reads from the script, and none of them is a superuser", () => {
    const facts = roleFacts({ name: "postgres", image: { repository: "pgvector/pgvector" }, env: { POSTGRES_USER: "postgres" }, files: [script()] });
    const rows = postgres.psql(
      `select rolname || ' ' || rolsuper || ' ' || rolcanlogin from pg_roles where rolname in (${[...facts.created].map((role) => `'${role}'`).join(", ")}) order by 1;`,
    );
    expect(rows.split("\n")).toEqual(["anon false false", "authenticated false false", "authenticator false true", "service_role false false"]);
    expect([...facts.created].filter((role) => facts.superusers.has(role))).toEqual([]);
    // What authenticator can become, as the database grants it and as the policy reads it.
    const members = postgres.psql(
      "select string_agg(r.rolname, ' ' order by r.rolname) from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where u.rolname = 'authenticator';",
    );
    expect(members).toBe("anon authenticated service_role");
    expect(reachableRoles("authenticator", facts).sort()).toEqual(["anon", "authenticated", "authenticator", "service_role"]);
  });

  it("let authenticator log in with its password, become anon, and not become the superuser", () => {
    expect(psqlAs("authenticator", "wrong", "select 1").ok).toBe(false);
    expect(psqlAs("authenticator", PASSWORD, "select current_user, (select rolsuper from pg_roles where rolname = current_user)")).toEqual({
      ok: true,
      output: "authenticator|f",
    });
    expect(psqlAs("authenticator", PASSWORD, "set role anon; select current_user")).toEqual({ ok: true, output: "anon" });
    const superuser = psqlAs("authenticator", PASSWORD, "set role postgres; select current_user");
    expect(superuser.ok).toBe(false);
    expect(superuser.output).toMatch(/permission denied to set role "postgres"/);
  });
});
