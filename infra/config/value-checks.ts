/**
 * Checks of single values that a type and a range cannot say: each returns
 * true, or what is wrong, for the schema (schema.ts) to report at the value's
 * key path. Addresses and CIDRs are judged by network/ip-ranges.ts alone.
 */
import { isHostAddress } from "../../components/formats";
import { SSH_SOURCE_LIMIT, sshSourceBreadth } from "../../components/network/firewall-rules";
import {
  formatRange,
  ipv4FormOf,
  ipv4MappedAddressOf,
  isCIDR,
  isNetworkCIDR,
  isPrivateIPv4CIDR,
  networkAddressOf,
  parseCIDR,
  singleAddressCIDR,
} from "../../components/network/ip-ranges";
import { reservedPrefixOf } from "../../components/storage/bucket-rules";
import { INGRESS_HEADERS } from "../../components/ingress/ingress-headers";
import { controlCharacterProblem } from "./control-characters";
import { quoted, type Check } from "./field-schemas";

export const NOT_A_CIDR = "is not a CIDR such as 203.0.113.10/32 or 2001:db8::/48 (IPv4 as four decimal numbers without leading zeros, IPv6 without a zone id)";
export const TOO_WIDE_FOR_SSH = `SSH would be open far beyond any admin network (F1 allows at most a /${SSH_SOURCE_LIMIT.ipv4} of IPv4 and a /${SSH_SOURCE_LIMIT.ipv6} of IPv6); list admin addresses or a VPN range`;

/** A CIDR with a host's bits set past its prefix: say which network it names, and the single-address form. */
function hostBitsMessage(cidr: string): string {
  const [address, prefix] = cidr.split("/") as [string, string];
  return `${quoted(cidr)} has host bits set past /${prefix}: write the network ${networkAddressOf(cidr)}/${prefix}, or ${singleAddressCIDR(address)} for that one address`;
}

/**
 * Why a CIDR that parses is still not written the one plain way: an IPv4
 * range in IPv6 form, host bits past the prefix, or a spelling such as
 * `/024` or uppercase hex. Firewalls and cloud APIs disagree on such
 * spellings, so config takes only the form every one of them reads alike.
 */
export function cidrSpellingProblem(text: string): string | undefined {
  const ipv4 = ipv4FormOf(text);
  if (ipv4) return `${quoted(text)} is an IPv4 ${ipv4.endsWith("/32") ? "address" : "range"} in IPv6 form: write ${ipv4}`;
  if (!isNetworkCIDR(text)) return hostBitsMessage(text);
  const plain = formatRange(parseCIDR(text)!);
  return plain === text ? undefined : `${quoted(text)} is written oddly: write ${plain}`;
}

/** One admin CIDR (F1): a CIDR, narrow enough for SSH on its own, written plainly. The whole message. */
export const adminCidrCheck: Check = (value) => {
  if (!isCIDR(value)) return `${quoted(value)} ${NOT_A_CIDR}`;
  const { tooWide } = sshSourceBreadth([value]);
  if (tooWide.length > 0) return `${quoted(value)} covers ${tooWide.join(" and ")}: ${TOO_WIDE_FOR_SSH}`;
  return cidrSpellingProblem(value) ?? true;
};

/** A range of the Hetzner private network: RFC 1918, written plainly. */
export const privateRangeCheck: Check = (text) =>
  !isPrivateIPv4CIDR(text)
    ? "must be an IPv4 CIDR inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
    : (cidrSpellingProblem(text)?.replace(`${quoted(text)} `, "") ?? true);

/**
 * An existing server's address: an IPv4 or IPv6 address or a host name, bare.
 * The program brackets an IPv6 address where a URL needs it (the Docker
 * provider's ssh:// URL) and gives it bare where ssh takes it (after `--`),
 * so each spelling that would end up in one of those wrongly is named.
 */
export const hostAddressCheck: Check = (text) => {
  // A valid IPv6 address, but ssh and Docker would each have to be told it is IPv4.
  const mapped = ipv4MappedAddressOf(text);
  if (mapped) return `is an IPv4-mapped IPv6 address: write the IPv4 address ${mapped}`;
  if (isHostAddress(text)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return "is a URL: give the address or host name alone (the account is sshUser, the port sshPort)";
  if (/^\[[^\]]*\]:\d+$/.test(text) || /^[^:[\]]+:\d+$/.test(text)) return "has a port: give the address alone, and the port as sshPort";
  if (/^\[[^\]]*\]$/.test(text)) return "is in brackets: give the IPv6 address without the brackets (the program adds them where a URL needs them)";
  if (text.includes("%"))
    return "has a zone id (%...): a zone names a network interface of one machine, so the address reaches nothing from elsewhere; give the server's global address";
  if (text.includes("/")) return "is a CIDR: give one address, without the /prefix";
  return "must be an IPv4/IPv6 address or a host name";
};

/** Bucket names are `<bucketPrefix>-<bucket>`, so they all start with the prefix. */
export const bucketPrefixCheck: Check = (text) => {
  if (!/^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/.test(text)) return "must be 3-42 lowercase letters, digits or hyphens";
  const reserved = reservedPrefixOf(`${text}-`);
  return !reserved || `makes every bucket name start with "${reserved}", a prefix S3 reserves; choose another`;
};

export const emailCheck: Check = (text) => /^[^\s@,]+@[^\s@,]+\.[a-z]{2,}$/i.test(text) || "must be an email address";

/** Alertmanager's webhook: https, and no secret in the URL itself. */
export const webhookURLCheck: Check = (text) => {
  try {
    const parsed = new URL(text);
    if (parsed.protocol !== "https:") return "must be an https URL";
    return parsed.username || parsed.password || parsed.search ? "must carry no credentials or query; use bearerToken and infra:alertWebhookToken" : true;
  } catch {
    return "must be an https URL";
  }
};

/** Docker's grammar for a tag: what `docker tag` accepts. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An HTTP field name (RFC 9110 token), as every ingress accepts it. */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** A response header the stack adds: a token, and none the ingress sets itself. The whole message. */
export const headerNameCheck: Check = (name) => {
  if (!HEADER_NAME.test(name)) return "is not an HTTP header name: letters, digits and !#$%&'*+.^_`|~-";
  if (INGRESS_HEADERS.includes(name.toLowerCase())) return `the ingress sets ${name} itself, on every route (components/ingress); remove it here`;
  return true;
};

/**
 * What a header value may hold: printable ASCII and spaces, without the
 * characters that end or interpolate a quoted string in one of the proxies'
 * configurations (`"` and `\` everywhere, `$` in nginx, `{` and `}` in Caddy).
 */
export const headerValueCheck: Check = (value) => {
  if (!/^[\x20-\x7e]*$/.test(value)) return controlCharacterProblem(value) ?? "holds characters outside printable ASCII";
  if (/["\\${}]/.test(value)) return "may not hold \", \\, $, { or }: they end or interpolate the value in the proxies' configurations";
  return true;
};
