/**
 * Syntax checks shared by config validation and the components' own argument
 * checks. Addresses and CIDRs are network/ip-ranges.ts's.
 */
import { isIPAddress } from "./network/ip-ranges";

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
  return isIPAddress(value) || isDomainName(value);
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
