import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { isIPv4, isIPv6 } from "../network/ip-ranges";
import { zoneSettings, type RecordSpec, type ZoneSecurity } from "./zone-settings";

export interface ZoneArgs {
  readonly zoneId: string;
  readonly security: ZoneSecurity;
  /** Names to create, each pointing at `target`; `key` names the resource, so it stays put when the domain changes. */
  readonly records: readonly (Omit<RecordSpec, "type"> & { readonly key: string })[];
  /** Public address (or host name) of the ingress server. */
  readonly target: pulumi.Input<string>;
}

/** The Cloudflare side of a platform: the zone's TLS settings and its web records. */
export class Zone extends pulumi.ComponentResource {
  public readonly hostnames: readonly string[];

  constructor(name: string, args: ZoneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:dns:Zone", name, {}, opts);
    const unexplained = args.records.filter((record) => !record.proxied && !record.unproxiedReason);
    if (unexplained.length > 0) {
      throw new Error(`zone ${name}: unproxied records need a reason (CF4): ${unexplained.map((record) => record.name).join(", ")}`);
    }
    for (const setting of zoneSettings(args.security)) {
      new cloudflare.ZoneSetting(
        `${name}-${setting.settingId.replace(/_/g, "-")}`,
        { zoneId: args.zoneId, settingId: setting.settingId, value: setting.value },
        { parent: this },
      );
    }
    for (const record of args.records) {
      const type = pulumi.output(args.target).apply((target) => (isIPv4(target) ? "A" : isIPv6(target) ? "AAAA" : "CNAME"));
      new cloudflare.DnsRecord(
        `${name}-${record.key}`,
        {
          zoneId: args.zoneId,
          name: record.name,
          type,
          content: args.target,
          proxied: record.proxied,
          // 1 means "automatic", the only TTL Cloudflare allows on proxied records.
          ttl: 1,
          comment: "managed by infra",
        },
        { parent: this },
      );
    }
    this.hostnames = args.records.map((record) => record.name);
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
