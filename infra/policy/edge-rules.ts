import { HSTS_MAX_AGE_SECONDS } from "../../components/dns/zone-settings";
import type { Finding } from "./report";

/** CF1-CF3 on a zone's settings, by setting id. */
export function zoneFindings(resource: string, settings: ReadonlyMap<string, unknown>, production: boolean): Finding[] {
  const findings: Finding[] = [];
  const report = (rule: string, message: string) => findings.push({ rule, resource, message });
  if (settings.get("ssl") !== "strict") report("CF1", `ssl is ${JSON.stringify(settings.get("ssl") ?? "unset")}, not strict`);
  const tls = settings.get("min_tls_version");
  if (typeof tls !== "string" || !(Number(tls) >= 1.2)) report("CF2", `min_tls_version is ${JSON.stringify(tls ?? "unset")} (want 1.2 or higher)`);
  if (settings.get("always_use_https") !== "on") report("CF2", "always_use_https is not on");
  if (production) {
    const hsts = (settings.get("security_header") as { strictTransportSecurity?: Record<string, unknown> } | undefined)?.strictTransportSecurity;
    if (!hsts || hsts.enabled !== true) report("CF3", "HSTS is off on the zone of a stack that is not disposable");
    else {
      if (!(Number(hsts.maxAge) >= HSTS_MAX_AGE_SECONDS)) report("CF3", `HSTS max-age ${String(hsts.maxAge)} is below ${HSTS_MAX_AGE_SECONDS}`);
      if (hsts.includeSubdomains !== true) report("CF3", "HSTS does not include subdomains");
      if (hsts.nosniff !== true) report("CF3", "nosniff is off");
    }
  }
  return findings;
}

/** CF4 on one DNS record. */
export function recordFindings(resource: string, record: { proxied: boolean; reason?: string }): Finding[] {
  return record.proxied || record.reason ? [] : [{ rule: "CF4", resource, message: "web record is not proxied and no reason is given" }];
}
