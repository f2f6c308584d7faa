import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";

/**
 * A registry every image of the stack is pulled from instead of its origin:
 * a pull-through mirror in front of Docker Hub's rate limits, or the private
 * registry of a closed network that holds copies of the images.
 */
export interface ImageRegistry {
  /** `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address. */
  readonly host: string;
  /** PEM of the CA that signed the registry's TLS certificate, when no public CA did. */
  readonly caCertificate?: string;
}

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Whether the first path element of a reference names a registry (Docker's rule: a dot, a port, or localhost). */
function namesRegistry(element: string): boolean {
  return element.includes(".") || element.includes(":") || element === "localhost";
}

/**
 * Where a mirror keeps an image: Docker Hub images under their Hub path
 * (`postgres:16` is `<mirror>/library/postgres:16`, `prom/prometheus:v2` is
 * `<mirror>/prom/prometheus:v2`), images of other registries under their
 * registry's host (`ghcr.io/org/app:1` is `<mirror>/ghcr.io/org/app:1`), the
 * layout `skopeo sync` and registry proxies use. A reference without a tag or
 * digest gets `latest`, as Docker would pull.
 */
export function mirroredReference(mirror: string, reference: string): string {
  const [first, ...rest] = reference.split("/");
  let registry = "docker.io";
  let path = reference;
  if (rest.length > 0 && namesRegistry(first!)) {
    registry = first!;
    path = rest.join("/");
  }
  if (DOCKER_HUB_HOSTS.has(registry)) {
    registry = "docker.io";
    if (!path.includes("/")) path = `library/${path}`;
  }
  const lastElement = path.slice(path.lastIndexOf("/") + 1);
  if (!lastElement.includes(":") && !lastElement.includes("@")) path = `${path}:latest`;
  return registry === "docker.io" ? `${mirror}/${path}` : `${mirror}/${registry}/${path}`;
}

/**
 * The reference an image pulled through `mirror` stands for, in the short
 * form the program writes (`postgres:16`, `prom/prometheus:v2`,
 * `ghcr.io/org/app:1`): what checks of an image's identity compare against.
 * A reference from anywhere else is returned unchanged.
 */
export function originReference(mirror: string | undefined, reference: string): string {
  if (!mirror || !reference.startsWith(`${mirror}/`)) return reference;
  const path = reference.slice(mirror.length + 1);
  return path.startsWith("library/") && !path.slice("library/".length).includes("/") ? path.slice("library/".length) : path;
}

/** The directory Docker reads a registry's CA from: /etc/docker/certs.d/<host[:port]>/ca.crt. */
export function registryCAPath(registry: ImageRegistry): string {
  return `/etc/docker/certs.d/${registry.host}/ca.crt`;
}

/** Problems with `infra:registry`'s values, each as [field, message]; none when it is valid. */
export function registryProblems(registry: { host?: unknown; caCertificate?: unknown }): [string, string][] {
  const problems: [string, string][] = [];
  const host = registry.host;
  if (typeof host !== "string" || !isRegistryHost(host))
    problems.push(["host", `"${String(host)}" must be host[:port] alone: a DNS name, an IPv4 address or [IPv6], with no scheme, path or credentials (e.g. registry.example.com:5000)`]);
  if (registry.caCertificate !== undefined) {
    const pem = registry.caCertificate;
    let certificate: X509Certificate | undefined;
    try {
      const single = typeof pem === "string" && pem.split("-----BEGIN").length === 2 && /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n?$/.test(pem);
      if (single) certificate = new X509Certificate(pem);
    } catch {
      certificate = undefined;
    }
    if (!certificate) problems.push(["caCertificate", "must be one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"]);
    else if (!certificate.ca) problems.push(["caCertificate", `is not a CA certificate (${certificate.subject.replace(/\n/g, ", ")}); give the CA that signed the registry's certificate`]);
  }
  return problems;
}

function isRegistryHost(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) return false;
  const [, name, port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (name!.startsWith("[")) return isIP(name!.slice(1, -1)) === 6;
  if (/^[\d.]+$/.test(name!)) return isIP(name!) === 4;
  return name!.split(".").every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}
