import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { healthcheck, service, type SecretContent, type ServiceSpec } from "../../components/container/service-spec";
import { caddyfile } from "../../components/ingress/caddyfile";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { nginxConf } from "../../components/ingress/nginx-conf";
import { NGINX_CONF_PATH } from "../../components/ingress/nginx-spec";
import type { ProtectedRoute } from "../../components/ingress/route";
import type { IngressProxy } from "../../components/ingress/route-access";
import { TRAEFIK_DYNAMIC_PATH, traefikDynamicConfig, traefikYAML } from "../../components/ingress/traefik-config";
import type { PlatformSpec } from "../../infra/blueprints/blueprint";
import { exposureFindings } from "../../infra/policy/exposure-rules";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { ruleNamed } from "../../infra/policy/rules";
import { NEVER_WAIVED } from "../../infra/policy/waivers";
import { planOf } from "../support/plans";
import { expectViolation, modelOf, violationsOf, type ModelChanges } from "./models";

/**
 * E1-E4, the project's exposure rules: each shipped stack passes them, and
 * each is broken the ways someone would break it (an attacker's spelling of
 * a path, a prefix that takes in the protected one, a flag removed from the
 * service, a superuser under another notation, a waiver) on every ingress.
 */

const BLUEPRINTS = ["vpai", "ai-video", "fastapi", "galion", "nextmavens"];
const ADMIN_ACCESS = [undefined, "ingress", "caddy"] as const;
const E_RULES = ["E1", "E2", "E3", "E4"];

const onService = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ service: { name, change } });
const withFile =
  (path: string, edit: (content: string) => string) =>
  (spec: ServiceSpec): ServiceSpec => ({
    ...spec,
    files: spec.files.map((file) => (file.path === path ? { ...file, content: edit(file.content) } : file)),
  });
const AI_VIDEO: ModelChanges = { values: { "infra:blueprint": "ai-video" } };
const onAiVideo = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ ...AI_VIDEO, ...onService(name, change) });

describe("the shipped stacks", () => {
  it.each(BLUEPRINTS.flatMap((blueprint) => ["prod", "preprod"].flatMap((stack) => ADMIN_ACCESS.map((access) => [blueprint, stack, access] as const))))(
    "%s on %s (adminAccess %s) breaks no E rule",
    (blueprint, stack, access) => {
      const values: Record<string, string> = {
        "infra:blueprint": blueprint,
        ...(access ? { "infra:monitoring": JSON.stringify({ adminAccess: access }) } : {}),
      };
      const report = evaluateModel(modelOf(stack, { values }));
      expect(report.violations.filter((violation) => E_RULES.includes(violation.rule))).toEqual([]);
    },
  );

  it("and the registered graph of prod breaks none either", async () => {
    const plan = await planOf("prod");
    expect(evaluateGraph(plan.resources, modelOf("prod")).violations.filter((violation) => E_RULES.includes(violation.rule))).toEqual([]);
  });

  it("are judged by rules that no waiver silences", () => {
    expect(E_RULES.map((rule) => ruleNamed(rule)?.waivable)).toEqual([false, false, false, false]);
    expect(NEVER_WAIVED.map((entry) => entry.rule)).toEqual(expect.arrayContaining(E_RULES));
  });
});

/** n8n's site as vpai shipped it before: no password in front of anything. */
const withoutN8nPassword = (content: string) =>
  content.replace(/\t@protected not path \/webhook\/\*\n\tbasicauth @protected \{\n[^\n]*\n\t\}\n\trequest_header @protected -Authorization\n/, "");
const caddyfileEdit = (edit: (content: string) => string) => onService("caddy", withFile(CADDYFILE_PATH, edit));
const openN8n = caddyfileEdit(withoutN8nPassword);

describe("E1: a public route to a service whose first visitor becomes its owner", () => {
  const N8N_HOST = "route n8n.preprod.vpai.example.com";

  it("n8n routed as it was, with no password in front of its owner setup", () => {
    expectViolation(
      openN8n,
      "E1",
      N8N_HOST,
      /serves n8n \(n8nio\/n8n\), whose owner account goes to its first visitor, and caddy serves \/rest\/owner\/setup there without a password/,
    );
  });

  it("is still found when n8n's firstVisitorSetup declaration is removed: the image is known", () => {
    const undeclared: ModelChanges = {
      spec: (spec) => ({
        ...spec,
        services: spec.services.map((candidate) =>
          candidate.name === "n8n"
            ? { ...candidate, firstVisitorSetup: undefined }
            : candidate.name === "caddy"
              ? withFile(CADDYFILE_PATH, withoutN8nPassword)(candidate)
              : candidate,
        ) as ServiceSpec[],
      }),
    };
    expectViolation(undeclared, "E1", N8N_HOST, /\/rest\/owner\/setup/);
  });

  it.each([
    ["the public prefix widened to /", "@protected not path /*"],
    ["a public prefix that takes in the setup, /r", "@protected not path /r*"],
    ["a public prefix that takes in the setup, /rest/", "@protected not path /webhook/* /rest/*"],
    ["a public /setup/ beside the webhooks", "@protected not path /webhook/* /setup*"],
  ])("Caddy: %s", (_case, matcher) => {
    expectViolation(
      caddyfileEdit((content) => content.replace("@protected not path /webhook/*", matcher)),
      "E1",
      N8N_HOST,
      /without a password/,
    );
  });

  it("Caddy: the basicauth taken off n8n's site", () => {
    expectViolation(
      caddyfileEdit((content) => content.replace(/\tbasicauth @protected \{\n[^\n]*\n\t\}\n/, "")),
      "E1",
      N8N_HOST,
      /\/setup/,
    );
  });

  it("Caddy: a `handle` block the policy cannot read counts as open", () => {
    expectViolation(
      caddyfileEdit((content) => content.replace("\trequest_header @protected -Authorization\n", "\thandle /setup {\n\t\treverse_proxy n8n:5678\n\t}\n")),
      "E1",
      N8N_HOST,
      /without a password/,
    );
  });

  it("a service declared with a first-visitor setup anywhere may have no public path at all", () => {
    const declared = onService("n8n", (spec) => ({ ...spec, image: { repository: "example/claimable", tag: "1.0.0" }, firstVisitorSetup: {} }));
    expectViolation(declared, "E1", N8N_HOST, /example\/claimable.*serves it there without a password \(\/webhook\//);
  });

  it("cannot be waived next to the service, whatever the reason", () => {
    for (const reason of ["ok", "the owner account is created by hand right after the first deploy of the stack"]) {
      const report = evaluateModel(
        modelOf("preprod", {
          spec: (spec) => ({
            ...spec,
            services: spec.services.map((candidate) =>
              candidate.name === "n8n"
                ? { ...candidate, waivers: [...candidate.waivers, { rule: "E1", reason }] }
                : candidate.name === "caddy"
                  ? withFile(CADDYFILE_PATH, withoutN8nPassword)(candidate)
                  : candidate,
            ),
          }),
        }),
      );
      // The finding is the route's, where no waiver sits; the waiver itself is refused.
      expect(
        violationsOf(report, "E1")
          .map((violation) => violation.resource)
          .sort(),
      ).toEqual(["container vpai-n8n", N8N_HOST, N8N_HOST]);
      expect(violationsOf(report, "E1").find((violation) => violation.resource === "container vpai-n8n")!.message).toMatch(/waiver of E1: E1 is never waived/);
    }
  });
});

describe("E2: a metrics endpoint served by a public route", () => {
  const edit = (name: string, path: string, change: (content: string) => string, values: Record<string, string> = {}): ModelChanges => ({
    values,
    ...onService(name, withFile(path, change)),
  });
  const FASTAPI = { "infra:blueprint": "fastapi" };
  const GALION = { "infra:blueprint": "galion" };

  it("Caddy: the block taken off n8n's site, as vpai shipped it with no password in front", () => {
    const unblocked = edit("caddy", CADDYFILE_PATH, (content) => withoutN8nPassword(content).replace(/\t@blocked0 [^\n]*\n\trespond @blocked0 404\n/g, ""));
    expectViolation(unblocked, "E2", "route n8n.preprod.vpai.example.com", /serves n8n's metrics at \/metrics to anyone: caddy passes \/metrics, \/metrics\//);
  });

  it("Caddy: behind n8n's password, /metrics is no public endpoint even without the block", () => {
    const report = evaluateModel(
      modelOf(
        "preprod",
        edit("caddy", CADDYFILE_PATH, (content) => content.replace(/\t@blocked0 [^\n]*\n\trespond @blocked0 404\n/g, "")),
      ),
    );
    expect(violationsOf(report, "E2")).toEqual([]);
  });

  it("Caddy: a `path` matcher in place of the expression lets /metrics;x through", () => {
    const byPath = edit("caddy", CADDYFILE_PATH, (content) =>
      withoutN8nPassword(content).replace(/@blocked0 path_regexp \S+/g, "@blocked0 path /metrics /metrics/*"),
    );
    expectViolation(byPath, "E2", "route n8n.preprod.vpai.example.com", /passes \/metrics;x, \/metrics\.json, \/metrics%2F/);
  });

  it("nginx: the block taken off fastapi's API, whose /metrics is scraped on the same port", () => {
    const unblocked = edit(
      "nginx",
      NGINX_CONF_PATH,
      (content) => content.replace(/\n\s*location ~\* "[^"]*metrics[^"]*" \{\n\s*return 404;\n\s*\}/g, ""),
      FASTAPI,
    );
    expectViolation(
      unblocked,
      "E2",
      "route api.preprod.vpai.example.com",
      /serves backend's metrics at \/metrics to anyone: nginx passes \/metrics, \/metrics\//,
    );
  });

  it("nginx: a case-sensitive prefix location in place of the expression leaves /METRICS open (galion's apps)", () => {
    const caseSensitive = edit("nginx", NGINX_CONF_PATH, (content) => content.replace(/location ~\* "[^"]*metrics[^"]*" \{/g, "location /metrics {"), GALION);
    expectViolation(caseSensitive, "E2", "route api.preprod.vpai.example.com", /passes \/METRICS, \/METRICS\/, \/Metrics/);
  });

  it("Traefik: the blocking router ranked below the name's own (ai-video's Grafana, whose /metrics is on unless GF_METRICS_ENABLED is false)", () => {
    const demoted = edit(
      "traefik",
      TRAEFIK_DYNAMIC_PATH,
      (content) => {
        const dynamic = parse(content);
        for (const router of Object.values(dynamic.http.routers as Record<string, { priority?: number }>)) if (router.priority) router.priority = 1;
        return stringify(dynamic);
      },
      { "infra:blueprint": "ai-video" },
    );
    expectViolation(demoted, "E2", "route grafana.preprod.vpai.example.com", /serves grafana's metrics at \/metrics/);
  });

  it("Traefik: Grafana's metrics are known by its image when no `metrics` is declared, and not when GF_METRICS_ENABLED is false", () => {
    const unblock = (content: string) => {
      const dynamic = parse(content);
      for (const name of Object.keys(dynamic.http.routers)) if (name.includes("-blocked-")) delete dynamic.http.routers[name];
      return stringify(dynamic);
    };
    const undeclared: ModelChanges = {
      values: { "infra:blueprint": "ai-video" },
      spec: (spec) => ({
        ...spec,
        services: spec.services.map((candidate) =>
          candidate.name === "grafana"
            ? { ...candidate, metrics: undefined }
            : candidate.name === "traefik"
              ? withFile(TRAEFIK_DYNAMIC_PATH, unblock)(candidate)
              : candidate,
        ) as ServiceSpec[],
      }),
    };
    expectViolation(undeclared, "E2", "route grafana.preprod.vpai.example.com", /grafana's metrics at \/metrics/);
    const off: ModelChanges = {
      values: { "infra:blueprint": "ai-video" },
      spec: (spec) => ({
        ...spec,
        services: spec.services.map((candidate) =>
          candidate.name === "grafana"
            ? { ...candidate, metrics: undefined, env: { ...candidate.env, GF_METRICS_ENABLED: "false" } }
            : candidate.name === "traefik"
              ? withFile(TRAEFIK_DYNAMIC_PATH, unblock)(candidate)
              : candidate,
        ) as ServiceSpec[],
      }),
    };
    expect(violationsOf(evaluateModel(modelOf("preprod", off)), "E2").filter((violation) => violation.resource.startsWith("route grafana"))).toEqual([]);
  });

  it("n8n's metrics are known by N8N_METRICS when its `metrics` declaration is removed, and not once N8N_METRICS is off", () => {
    const undeclared = (env: Record<string, string>): ModelChanges => ({
      spec: (spec) => ({
        ...spec,
        services: spec.services.map((candidate) =>
          candidate.name === "n8n"
            ? { ...candidate, metrics: undefined, env: { ...candidate.env, ...env } }
            : candidate.name === "caddy"
              ? withFile(CADDYFILE_PATH, (content) => withoutN8nPassword(content).replace(/\t@blocked0 [^\n]*\n\trespond @blocked0 404\n/g, ""))(candidate)
              : candidate,
        ) as ServiceSpec[],
      }),
    });
    expectViolation(undeclared({}), "E2", "route n8n.preprod.vpai.example.com", /n8n's metrics at \/metrics/);
    expect(violationsOf(evaluateModel(modelOf("preprod", undeclared({ N8N_METRICS: "false" }))), "E2")).toEqual([]);
  });
});

/** E1 and E2 on a configuration the renderers generate for each proxy, then edited the way someone would. */
describe.each<IngressProxy>(["caddy", "nginx", "traefik"])("E1 and E2 on %s's own configuration", (proxy) => {
  const n8n = service({
    name: "n8n",
    description: "n8n",
    role: "app",
    image: { repository: "n8nio/n8n", tag: "1.72.1" },
    networks: [],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 512,
    env: { N8N_METRICS: "true" },
    firstVisitorSetup: { paths: ["/rest/owner/setup", "/setup"] },
  });
  const credential = { user: "n8n", passwordHashSecret: "infra:n8nPasswordHash" };
  const route = (publicPaths: string[], blocked = true): ProtectedRoute => ({
    hostname: "n8n.example.com",
    service: "n8n",
    port: 5678,
    basicAuth: credential,
    publicPaths,
    ...(blocked ? {} : {}),
  });
  const render = (routes: ProtectedRoute[]) => {
    if (proxy === "caddy") return { path: CADDYFILE_PATH, content: caddyfile(routes) };
    if (proxy === "nginx")
      return {
        path: NGINX_CONF_PATH,
        content: nginxConf(routes, {
          certificateDir: "/c",
          certificateName: "n8n",
          rateLimitPerMinute: 100,
          burst: 20,
          realIpFrom: [],
          clientMaxBodyMb: 10,
          healthPath: "/healthz",
          statusPort: 8081,
          statusPath: "/status",
        }),
      };
    return { path: TRAEFIK_DYNAMIC_PATH, content: traefikYAML(traefikDynamicConfig(routes, { rateLimitPerMinute: 100, burst: 20, trustedIPs: [] })) };
  };
  const judge = (file: { path: string; content: string }) =>
    exposureFindings([{ hostname: "n8n.example.com", service: "n8n", port: 5678 }], [n8n], proxy, [file]).map(
      (finding) => `${finding.rule} ${finding.message}`,
    );
  /** The configuration as generated, then a public path swapped in by hand, where the renderer itself would refuse it. */
  const withPublic = (path: string) => {
    const file = render([route(["/webhook/"])]);
    const content =
      proxy === "caddy"
        ? file.content.replace("not path /webhook/*", `not path ${path}*`)
        : proxy === "nginx"
          ? file.content.replace("location /webhook/ {", `location ${path} {`)
          : file.content.replace("PathPrefix(`/webhook/`)", `PathPrefix(\`${path}\`)`);
    return { ...file, content };
  };
  const unblocked = (file: { path: string; content: string }) => ({
    ...file,
    content:
      proxy === "caddy"
        ? file.content.replace(/\t@blocked0 [^\n]*\n\trespond @blocked0 404\n/, "")
        : proxy === "nginx"
          ? file.content.replace(/\n\s*location ~\* "[^"]*" \{\n\s*return 404;\n\s*\}/, "")
          : traefikYAML(
              Object.fromEntries(
                Object.entries(parse(file.content)).map(([key, value]) => [
                  key,
                  key === "http"
                    ? {
                        ...(value as object),
                        routers: Object.fromEntries(Object.entries((value as { routers: object }).routers).filter(([name]) => !name.includes("-blocked-"))),
                      }
                    : value,
                ]),
              ),
            ),
  });

  it("passes n8n with only /webhook/ public", () => {
    expect(judge(render([route(["/webhook/"])]))).toEqual([]);
  });

  it("refuses to render / or a path that is not a prefix as a public path", () => {
    expect(() => render([route(["/"])])).toThrow(/public path "\/" is not a path prefix/);
    expect(() => render([route(["/webhook"])])).toThrow(/public path "\/webhook" is not a path prefix ending in \//);
    expect(() => render([{ hostname: "n8n.example.com", service: "n8n", port: 5678, publicPaths: ["/webhook/"] }])).toThrow(
      /public paths are for a route behind basic auth/,
    );
  });

  it.each(["/", "/r", "/rest/", "/SETUP/", "/Rest/Owner/"])("E1: the public prefix %s takes in the setup", (path) => {
    expect(judge(withPublic(path)).join("\n")).toMatch(/^E1 n8n.example.com serves n8n \(n8nio\/n8n\), whose owner account goes to its first visitor/m);
  });

  it.each(["/", "/m", "/metrics/"])("E2: the public prefix %s with the block gone serves /metrics", (path) => {
    expect(judge(unblocked(withPublic(path))).join("\n")).toMatch(/^E2 n8n.example.com serves n8n's metrics at \/metrics to anyone/m);
  });

  it("E2: with the block, even a public / leaves /metrics answered by the proxy", () => {
    expect(judge(withPublic("/")).filter((finding) => finding.startsWith("E2"))).toEqual([]);
  });
});

describe("E3: a public route to a data API without a key check", () => {
  const API_HOST = "route api.preprod.vpai.example.com";
  // Kong's declarative file, edited by path; its schema is Kong's, not typed here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const kongFile = (edit: (document: Record<string, any>) => void) =>
    onAiVideo(
      "kong",
      withFile("/home/kong/kong.yml", (content) => {
        const document = parse(content);
        edit(document);
        return stringify(document);
      }),
    );

  it("Kong's key-auth taken off the REST API's service, as ai-video shipped it", () => {
    expectViolation(
      kongFile((document) => (document.services[0].plugins = [{ name: "cors" }])),
      "E3",
      API_HOST,
      /reaches rest \(postgrest\/postgrest\) through kong, which checks no key on its way there, and it serves requests without a token as anon/,
    );
  });

  it("key-auth left in, disabled", () => {
    expectViolation(
      kongFile((document) => (document.services[0].plugins[1].enabled = false)),
      "E3",
      API_HOST,
      /checks no key/,
    );
  });

  it("a second Kong route to PostgREST on a service without key-auth", () => {
    expectViolation(
      kongFile((document) => document.services.push({ name: "rest-open", url: "http://rest:3000/", routes: [{ name: "open", paths: ["/open/"] }] })),
      "E3",
      API_HOST,
      /checks no key/,
    );
  });

  it("Kong's configuration missing, so nothing says what it checks", () => {
    expectViolation(
      onAiVideo("kong", (spec) => ({ ...spec, files: [] })),
      "E3",
      API_HOST,
      /through kong, whose configuration the policy cannot read/,
    );
  });

  /** A route to PostgREST itself, with Traefik serving it beside the others. */
  const direct = (spec: PlatformSpec): PlatformSpec => ({
    ...spec,
    routes: [...spec.routes, { subdomain: "rest", service: "rest", port: 3000 }],
    services: spec.services.map((candidate) =>
      candidate.name === "traefik"
        ? withFile(TRAEFIK_DYNAMIC_PATH, (content) => {
            const dynamic = parse(content);
            dynamic.http.routers["rest-direct"] = {
              rule: "Host(`rest.preprod.vpai.example.com`)",
              entryPoints: ["websecure"],
              service: "rest-3000",
              middlewares: ["security-headers"],
            };
            dynamic.http.services["rest-3000"] = { loadBalancer: { servers: [{ url: "http://rest:3000" }] } };
            return stringify(dynamic);
          })(candidate)
        : candidate,
    ),
  });

  it("a route straight to PostgREST, which serves requests without a token as anon; none once it has no anonymous role", () => {
    expectViolation(
      { ...AI_VIDEO, spec: direct },
      "E3",
      "route rest.preprod.vpai.example.com",
      /reaches rest \(postgrest\/postgrest\) directly, and it serves requests without a token as anon/,
    );
    const noAnonymous: ModelChanges = {
      ...AI_VIDEO,
      spec: (spec) =>
        direct({
          ...spec,
          services: spec.services.map((candidate) =>
            candidate.name === "rest"
              ? {
                  ...candidate,
                  env: Object.fromEntries(Object.entries(candidate.env).filter(([key]) => key !== "PGRST_DB_ANON_ROLE")),
                  dataApi: { auth: "jwt" as const, role: "authenticator" },
                }
              : candidate,
          ),
        }),
    };
    expect(violationsOf(evaluateModel(modelOf("preprod", noAnonymous)), "E3")).toEqual([]);
  });

  it("a route straight to PostgREST without a token secret: it checks no token at all", () => {
    const bare: ModelChanges = {
      ...AI_VIDEO,
      spec: (spec) =>
        direct({
          ...spec,
          services: spec.services.map((candidate) =>
            candidate.name === "rest"
              ? {
                  ...candidate,
                  env: Object.fromEntries(Object.entries(candidate.env).filter(([key]) => key !== "PGRST_JWT_SECRET" && key !== "PGRST_DB_ANON_ROLE")),
                  dataApi: undefined,
                }
              : candidate,
          ) as ServiceSpec[],
        }),
    };
    expectViolation(bare, "E3", "route rest.preprod.vpai.example.com", /it checks no token at all/);
  });

  it("a token secret written in plain text", () => {
    expectViolation(
      onAiVideo("rest", (spec) => ({ ...spec, env: { ...spec.env, PGRST_JWT_SECRET: "super-secret-jwt-token-with-at-least-32-characters" } })),
      "E3",
      "container aivideo-rest",
      /PGRST_JWT_SECRET\) is written in plain text/,
    );
  });
});

describe("E4: a data API acting as a database superuser", () => {
  const REST = "container aivideo-rest";
  const withURI = (uri: string, extra: Record<string, string> = {}) =>
    onAiVideo("rest", (spec) => ({ ...spec, env: { ...spec.env, PGRST_DB_URI: uri.includes("{{") ? { secretTemplate: uri } : uri, ...extra } }));

  it.each([
    ["a URI with a password", "postgres://postgres:{{infra:postgresPassword}}@postgres:5432/postgres", /connects as postgres, a superuser of postgres/],
    ["postgresql:// without a password", "postgresql://postgres@postgres/postgres", /connects as postgres, a superuser/],
    ["a percent-encoded user", "postgresql://%70ostgres@postgres/postgres", /connects as postgres, a superuser/],
    ["an unquoted user in capitals, which PostgreSQL folds", "postgresql://POSTGRES@postgres/postgres", /connects as postgres, a superuser/],
    ["the user as a URI parameter", "postgresql:///postgres?host=postgres&user=postgres", /connects as postgres, a superuser/],
    ["a keyword connection string", "host=postgres port=5432 dbname=postgres user=postgres", /connects as postgres, a superuser/],
    ["a quoted keyword value", "host=postgres user='postgres' password='x y'", /connects as postgres, a superuser/],
    ["Supabase's own superuser", "postgres://supabase_admin@postgres:5432/postgres", /connects as supabase_admin, a superuser/],
    ["a role the database does not create", "postgres://webapp@postgres:5432/postgres", /connects as webapp, a role postgres's init scripts do not create/],
  ])("PGRST_DB_URI: %s", (_case, uri, message) => {
    expectViolation(withURI(uri), "E4", REST, message);
  });

  it("the role in another variable: no user in the URI, PGUSER=postgres", () => {
    expectViolation(withURI("postgresql://postgres:5432/postgres", { PGUSER: "postgres" }), "E4", REST, /connects as postgres, a superuser/);
  });

  it("no user anywhere: libpq would take the container's own", () => {
    expectViolation(withURI("postgresql://postgres:5432/postgres"), "E4", REST, /a role the policy cannot read \(none is named/);
  });

  it("the user inside a secret, or the whole URI a secret", () => {
    expectViolation(withURI("postgres://{{infra:postgresPassword}}@postgres:5432/postgres"), "E4", REST, /it is part of a secret/);
    expectViolation(
      onAiVideo("rest", (spec) => ({ ...spec, env: { ...spec.env, PGRST_DB_URI: { secret: "infra:postgresPassword" } } })),
      "E4",
      REST,
      /PGRST_DB_URI is a secret or a file the policy cannot read/,
    );
  });

  it("PGRST_DB_URI naming its secret file (C15): the role is read from the file's content, on the model and on the registered container", async () => {
    const withFileURI = (content: SecretContent) =>
      onAiVideo("rest", (spec) => ({ ...spec, secretFiles: spec.secretFiles.map((file) => (file.name === "db-uri" ? { ...file, content } : file)) }));
    expectViolation(
      withFileURI({ secretTemplate: "postgres://postgres:{{infra:postgresPassword}}@postgres:5432/postgres" }),
      "E4",
      REST,
      /connects as postgres, a superuser of postgres/,
    );
    expectViolation(withFileURI({ secret: "infra:postgresPassword" }), "E4", REST, /PGRST_DB_URI is a secret or a file the policy cannot read/);
    const plan = await planOf("prod", { overrides: ["blueprint=ai-video"] });
    const rest = plan.resources.find((resource) => resource.type === "docker:index/container:Container" && resource.inputs.name === "aivideo-rest")!;
    expect(rest.inputs.envs).toContain("PGRST_DB_URI=@/run/secrets/db-uri");
    expect(violationsOf(evaluateGraph([rest], modelOf("prod", AI_VIDEO)), "E4")).toEqual([]);
    const superuser = modelOf("prod", withFileURI({ secretTemplate: "postgres://supabase_admin:{{infra:postgresPassword}}@postgres:5432/postgres" }));
    expect(violationsOf(evaluateGraph([rest], superuser), "E4").map((violation) => [violation.resource, violation.message])).toEqual([
      [REST, expect.stringMatching(/connects as supabase_admin, a superuser/)],
    ]);
  });

  it("the anonymous role set to the superuser", () => {
    expectViolation(
      onAiVideo("rest", (spec) => ({ ...spec, env: { ...spec.env, PGRST_DB_ANON_ROLE: "postgres" } })),
      "E4",
      REST,
      /serves anonymous requests as postgres, a superuser/,
    );
  });

  it.each([
    [
      "granted the superuser",
      "GRANT anon, authenticated, service_role TO authenticator;",
      "GRANT anon, authenticated, service_role, postgres TO authenticator;",
      /connects as authenticator, which is granted the superuser postgres/,
    ],
    [
      "made a superuser afterwards",
      "GRANT anon,",
      "ALTER ROLE authenticator WITH SUPERUSER;\nGRANT anon,",
      /connects as authenticator, a superuser of postgres/,
    ],
    [
      "created as a superuser",
      "CREATE ROLE authenticator LOGIN NOINHERIT NOSUPERUSER",
      "CREATE ROLE authenticator LOGIN NOINHERIT SUPERUSER",
      /connects as authenticator, a superuser/,
    ],
    [
      "the anonymous role granted one",
      "GRANT USAGE",
      "GRANT postgres TO anon;\nGRANT USAGE",
      /serves anonymous requests as anon, which is granted the superuser postgres/,
    ],
  ])("the database's init script: authenticator %s", (_case, from, to, message) => {
    expectViolation(
      onAiVideo(
        "postgres",
        withFile("/docker-entrypoint-initdb.d/20-api-roles.sh", (content) => content.replace(from, to)),
      ),
      "E4",
      REST,
      message,
    );
  });

  it("the roles script gone: nothing creates authenticator or anon", () => {
    const report = evaluateModel(
      modelOf(
        "preprod",
        onAiVideo("postgres", (spec) => ({ ...spec, files: [], waivers: spec.waivers.filter((waiver) => waiver.rule !== "C6") })),
      ),
    );
    expect(violationsOf(report, "E4").map((violation) => violation.message)).toEqual([
      "rest connects as authenticator, a role postgres's init scripts do not create, so nothing says it is no superuser",
      "rest serves anonymous requests as anon, a role postgres's init scripts do not create, so nothing says it is no superuser",
    ]);
  });

  it.each([".", "ok", "PostgREST needs the superuser to run its schema cache queries on this database"])(
    "cannot be waived next to PostgREST, with the reason %j",
    (reason) => {
      const report = evaluateModel(
        modelOf(
          "preprod",
          onAiVideo("rest", (spec) => ({
            ...spec,
            env: { ...spec.env, PGRST_DB_URI: "postgres://postgres@postgres:5432/postgres" },
            waivers: [...spec.waivers, { rule: "E4", reason }],
          })),
        ),
      );
      const found = violationsOf(report, "E4")
        .filter((violation) => violation.resource === REST)
        .map((violation) => violation.message);
      expect(found).toEqual(
        expect.arrayContaining([expect.stringMatching(/^waiver of E4: E4 is never waived/), expect.stringMatching(/^rest connects as postgres, a superuser/)]),
      );
      expect(report.waivers.filter((waiver) => waiver.rule === "E4")).toEqual([]);
    },
  );

  it("a data API known only by its declaration, connecting as the superuser", () => {
    const declared = onAiVideo("meta", (spec) => ({ ...spec, dataApi: { auth: "jwt", role: "postgres" } }));
    expectViolation(declared, "E4", "container aivideo-meta", /meta connects as postgres/);
  });

  it("on the registered container, once its environment is resolved (what the policy pack sees)", async () => {
    const plan = await planOf("prod", { overrides: ["blueprint=ai-video"] });
    const model = modelOf("prod", AI_VIDEO);
    const rest = plan.resources.find((resource) => resource.type === "docker:index/container:Container" && resource.inputs.name === "aivideo-rest")!;
    const resolved = (uri: string) => ({ ...rest, inputs: { ...rest.inputs, envs: [`PGRST_DB_URI=${uri}`, "PGRST_DB_ANON_ROLE=anon", "PGRST_JWT_SECRET=x"] } });
    expect(violationsOf(evaluateGraph([resolved("postgres://authenticator:pw@postgres:5432/postgres")], model), "E4")).toEqual([]);
    expect(
      violationsOf(evaluateGraph([resolved("host=postgres user=supabase_admin")], model), "E4").map((violation) => [violation.resource, violation.message]),
    ).toEqual([[REST, expect.stringMatching(/connects as supabase_admin, a superuser/)]]);
    // A recorded graph masks the environment: judged on the model instead.
    expect(violationsOf(evaluateGraph([{ ...rest, inputs: { ...rest.inputs, envs: "[secret]" } }], model), "E4")).toEqual([]);
  });
});
