/** Cloudflare zone settings as data (CF1-CF3). */
export interface ZoneSetting {
  readonly settingId: string;
  readonly value: unknown;
}

export interface ZoneSecurity {
  /** HSTS at the edge, for production names (CF3). */
  readonly hsts: boolean;
}

export const HSTS_MAX_AGE_SECONDS = 31536000;

export function zoneSettings(security: ZoneSecurity): ZoneSetting[] {
  const settings: ZoneSetting[] = [
    // Full (strict): Cloudflare verifies the origin's certificate (CF1).
    { settingId: "ssl", value: "strict" },
    { settingId: "min_tls_version", value: "1.2" },
    // Cloudflare still lets ACME HTTP-01 challenges through over plain HTTP,
    // so Caddy's automatic certificates keep working with this on (CF2).
    { settingId: "always_use_https", value: "on" },
  ];
  if (security.hsts) {
    settings.push({
      settingId: "security_header",
      value: { strictTransportSecurity: { enabled: true, maxAge: HSTS_MAX_AGE_SECONDS, includeSubdomains: true, nosniff: true, preload: false } },
    });
  }
  return settings;
}

/** A DNS record pointing a name at a server. */
export interface RecordSpec {
  readonly name: string;
  readonly type: "A" | "AAAA" | "CNAME";
  /** Web names go through Cloudflare (CF4). */
  readonly proxied: boolean;
  /** Why an unproxied record is acceptable (CF4 allow-list). */
  readonly unproxiedReason?: string;
}
