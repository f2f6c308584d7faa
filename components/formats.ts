/** Syntax checks shared by config validation and the components' own argument checks. */

const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

export function isIPv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(value) || !value.includes(":")) return false;
  const doubleColons = value.split("::").length - 1;
  if (doubleColons > 1) return false;
  const groups = value.split(":").filter((group) => group !== "");
  if (groups.some((group) => group.length > 4)) return false;
  return doubleColons === 1 ? groups.length < 8 : groups.length === 8;
}

export function isCIDR(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (isIPv4(address)) return bits <= 32;
  if (isIPv6(address)) return bits <= 128;
  return false;
}

/** True for CIDRs that match every address: SSH open to these is what F1 forbids. */
export function isAnyAddress(cidr: string): boolean {
  const [address, prefix] = cidr.split("/");
  return prefix === "0" && (address === "0.0.0.0" || (address !== undefined && /^[0:]+$/.test(address)));
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDNSLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

export function isDomainName(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every(isDNSLabel) && /[a-z]/.test(labels[labels.length - 1] ?? "");
}

export function isHostAddress(value: string): boolean {
  return isIPv4(value) || isIPv6(value) || isDomainName(value);
}

export function isSSHPublicKey(value: string): boolean {
  return /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( \S.*)?$/.test(value.trim());
}

export function isHTTPURL(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "" && url.pathname === "/" && !url.search;
  } catch {
    return false;
  }
}
