import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform } from "../../infra/platform-model";
import { INGRESS_HEADERS } from "../../components/ingress/ingress-headers";
import { NGINX_SECURITY_HEADERS } from "../../components/ingress/nginx-conf";
import { CADDY_SECURITY_HEADERS } from "../../components/ingress/caddyfile";
import { configProblemsOf, rawConfigWithSecrets } from "../support/stack-config";

const raw = (ingress: unknown, blueprint = "fastapi") => rawConfigWithSecrets({ "infra:blueprint": blueprint, "infra:ingress": JSON.stringify(ingress) });
const model = (ingress: unknown, blueprint = "fastapi") =>
  planPlatform(validateStackConfig(raw(ingress, blueprint), BLUEPRINT_CATALOG).config, blueprintNamed(blueprint));
function modelProblems(ingress: unknown, blueprint = "fastapi"): { path: string; message: string }[] {
  try {
    model(ingress, blueprint);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("accepted");
}
const liveFile = (ingress: unknown, service: string, blueprint = "fastapi") =>
  model(ingress, blueprint)
    .spec.services.find((candidate) => candidate.name === service)!
    .files.find((file) => file.live)!.content;

describe("infra:ingress: the stack's own routes and headers", () => {
  it("adds a name for a routed service on its route's port, with DNS, the certificate and the headers on every route", () => {
    const platform = model({ routes: [{ subdomain: "www", service: "backend" }], headers: { "X-Release-Channel": "stable" } });
    expect(platform.spec.routes.find((route) => route.subdomain === "www")).toMatchObject({ service: "backend", port: 8000 });
    const www = `www.${platform.config.domain}`;
    expect(platform.hostnames).toContain(www);
    const nginx = liveFile({ routes: [{ subdomain: "www", service: "backend" }], headers: { "X-Release-Channel": "stable" } }, "nginx");
    expect(nginx).toContain(`server_name ${www};`);
    expect(nginx.match(/add_header X-Release-Channel "stable" always;/g)!.length).toBe(platform.spec.routes.length);
    const certbot = platform.spec.services.find((service) => service.name === "certbot")!;
    expect(certbot.command!.join(" ")).toContain(`-d ${www}`);
  });

  it("Caddy and Traefik carry the headers too", () => {
    expect(liveFile({ headers: { "X-Robots-Tag": "noindex" } }, "caddy", "vpai")).toContain('\theader X-Robots-Tag "noindex"');
    expect(liveFile({ headers: { "X-Robots-Tag": "noindex" } }, "traefik", "nextmavens")).toMatch(/customResponseHeaders:\n\s+X-Robots-Tag: noindex/);
  });

  it.each([
    [{ headers: { "Strict-Transport-Security": "max-age=1" } }, "infra:ingress.headers.Strict-Transport-Security", "the ingress sets"],
    [{ headers: { "strict-transport-security": "max-age=1" } }, "infra:ingress.headers.strict-transport-security", "the ingress sets"],
    [{ headers: { "CONTENT-SECURITY-POLICY": "default-src *" } }, "infra:ingress.headers.CONTENT-SECURITY-POLICY", "the ingress sets"],
    [{ headers: { "X Frame": "a" } }, "infra:ingress.headers.X Frame", "is not an HTTP header name"],
    [{ headers: { "X-A:": "a" } }, "infra:ingress.headers.X-A:", "is not an HTTP header name"],
    [{ headers: { "X-A": "a\nadd_header X-B b" } }, "infra:ingress.headers.X-A", "control character"],
    [{ headers: { "X-A": "a\tb" } }, "infra:ingress.headers.X-A", "control character"],
    [{ headers: { "X-A": 'a" always; return 200 "x' } }, "infra:ingress.headers.X-A", 'may not hold "'],
    [{ headers: { "X-A": "$host" } }, "infra:ingress.headers.X-A", "may not hold"],
    [{ headers: { "X-A": "{env.SECRET}" } }, "infra:ingress.headers.X-A", "may not hold"],
    [{ headers: { "X-A": "a\\" } }, "infra:ingress.headers.X-A", "may not hold"],
    [{ headers: { "X-A": "é" } }, "infra:ingress.headers.X-A", "outside printable ASCII"],
    [{ headers: { "X-A": 1.1 } }, "infra:ingress.headers.X-A", 'quote it: "1.1"'],
    [{ routes: [{ subdomain: "WWW", service: "backend" }] }, "infra:ingress.routes[0].subdomain", "is not a DNS label"],
    [{ routes: [{ subdomain: "w.w", service: "backend" }] }, "infra:ingress.routes[0].subdomain", "is not a DNS label"],
    [{ routes: [{ subdomain: "-w", service: "backend" }] }, "infra:ingress.routes[0].subdomain", "is not a DNS label"],
    [{ routes: [{ subdomain: "www", service: "backend", port: 0 }] }, "infra:ingress.routes[0].port", "from 1 to 65535"],
    [{ routes: [{ subdomain: "www", service: "backend", port: "8000" }] }, "infra:ingress.routes[0].port", "from 1 to 65535"],
    [{ routes: [{ subdomain: "www", servce: "backend" }] }, "infra:ingress.routes[0].servce", "service"],
    [{ route: [] }, "infra:ingress.route", "routes"],
    [{ routes: { subdomain: "www" } }, "infra:ingress.routes", "must be a list"],
  ])("%j is refused at %s", (ingress, path, message) => {
    const problems = configProblemsOf(raw(ingress));
    expect(problems.find((problem) => problem.path === path)?.message, JSON.stringify(problems)).toContain(message);
  });

  it("a header in two letter cases is one header twice", () => {
    const problems = configProblemsOf(raw({ headers: { "X-Channel": "a", "x-channel": "b" } }));
    expect(problems).toEqual([{ path: "infra:ingress.headers.x-channel", message: expect.stringContaining("is X-Channel again") }]);
  });

  it("every problem of the section at once, each with its path", () => {
    const problems = configProblemsOf(
      raw({
        routes: [
          { subdomain: "WWW", service: "backend" },
          { subdomain: "ok", service: "Backend!" },
        ],
        headers: { "Referrer-Policy": "x", "X-B": "$x" },
      }),
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      "infra:ingress.headers.Referrer-Policy",
      "infra:ingress.headers.X-B",
      "infra:ingress.routes[0].subdomain",
      "infra:ingress.routes[1].service",
    ]);
  });

  it("a route to a service no route reaches, or to a name already routed, is a problem of the model with its path", () => {
    expect(modelProblems({ routes: [{ subdomain: "db", service: "postgres" }] })).toEqual([
      { path: "infra:ingress.routes[0].service", message: expect.stringContaining('no route of the blueprint reaches "postgres"') },
    ]);
    expect(modelProblems({ routes: [{ subdomain: "api", service: "backend" }] })).toEqual([
      { path: "infra:ingress.routes[0].subdomain", message: '"api" is routed already' },
    ]);
    expect(
      modelProblems({
        routes: [
          { subdomain: "www", service: "backend" },
          { subdomain: "www", service: "backend" },
        ],
      }),
    ).toEqual([{ path: "infra:ingress.routes[1].subdomain", message: '"www" is routed already' }]);
  });

  it("the names the configuration refuses are every header any ingress sets itself", () => {
    for (const [name] of [...NGINX_SECURITY_HEADERS, ...CADDY_SECURITY_HEADERS]) expect(INGRESS_HEADERS).toContain(name.toLowerCase());
  });
});
