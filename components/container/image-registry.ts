import { X509Certificate } from "node:crypto";
import { isIPv4, isIPv6 } from "../network/ip-ranges";

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

/**
 * Where a mirror keeps an image, the layout `skopeo sync` and registry
 * proxies use. Docker Hub images keep their
 * path without a host (`postgres:16` is `library/postgres:16`, as a Hub
 * mirror lays them out); images of any other registry keep that registry's
 * host as the first path element (`ghcr.io/a/b:1` is `ghcr.io/a/b:1`). A
 * reference without tag or digest means `latest`, as for `docker pull`.
 * Each image has one place: Docker's spellings of the Hub (`docker.io/`,
 * `index.docker.io/`, an implicit `library/`) and of a host in capitals
 * all land on it. A registry with a port cannot be a path element and is
 * refused, as is anything Docker would not parse as a reference.
 */
export function mirroredReference(mirror: string, reference: string): string {
  const match = /^([^@]+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(reference);
  if (!match || /\s/.test(reference)) throw new Error(`"${reference}" is not an image reference`);
  const [, name, tag, digest] = match as unknown as [string, string, string | undefined, string | undefined];
  const elements = name.split("/");
  const first = elements[0]!;
  const hasDomain = elements.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const domain = hasDomain ? first.toLowerCase() : "docker.io";
  const path = hasDomain ? elements.slice(1) : elements;
  if (domain.includes(":")) throw new Error(`"${reference}": a registry with a port (${domain}) has no place in the mirror's layout`);
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) throw new Error(`"${reference}": "${domain}" is not a registry host`);
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
  if (path.length === 0 || !path.every((element) => component.test(element)))
    throw new Error(`"${reference}": the repository path must be lowercase letters, digits and separators`);
  const hub = domain === "docker.io" || domain === "index.docker.io";
  const repository = hub ? (path.length === 1 ? ["library", ...path] : path) : [domain, ...path];
  const suffix = `${tag === undefined && digest === undefined ? ":latest" : tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
  return `${mirror}/${repository.join("/")}${suffix}`;
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
  const host = registryHostProblem(registry.host);
  const certificate = registry.caCertificate === undefined ? undefined : caCertificateProblem(registry.caCertificate);
  return [...(host ? [["host", host] as [string, string]] : []), ...(certificate ? [["caCertificate", certificate] as [string, string]] : [])];
}

/** Why `host` is not a registry's `host[:port]`, or undefined when it is one. */
export function registryHostProblem(host: unknown): string | undefined {
  if (typeof host === "string" && isRegistryHost(host)) return undefined;
  return `"${String(host)}" must be host[:port] alone: a DNS name, an IPv4 address or [IPv6], with no scheme, path or credentials (e.g. registry.example.com:5000)`;
}

/** Why `pem` is not one PEM certificate of a CA, or undefined when it is one. */
export function caCertificateProblem(pem: unknown): string | undefined {
  let certificate: X509Certificate | undefined;
  try {
    const single =
      typeof pem === "string" &&
      pem.split("-----BEGIN").length === 2 &&
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n?$/.test(pem);
    if (single) certificate = new X509Certificate(pem);
  } catch {
    certificate = undefined;
  }
  if (!certificate) return "must be one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)";
  if (!certificate.ca) return `is not a CA certificate (${certificate.subject.replace(/\n/g, ", ")}); give the CA that signed the registry's certificate`;
  return undefined;
}

function isRegistryHost(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) return false;
  const [, name, port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (name!.startsWith("[")) return isIPv6(name!.slice(1, -1));
  if (/^[\d.]+$/.test(name!)) return isIPv4(name!);
  return name!.split(".").every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}
