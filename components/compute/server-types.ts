/**
 * Hetzner Cloud server types and list prices, used for the memory budget and
 * the monthly cost estimate.
 *
 * Source: Hetzner Cloud price list (hetzner.com/cloud, "Shared vCPU" and
 * "Dedicated vCPU" tables), EUR per month excluding VAT for the German and
 * Finnish locations, plus one primary IPv4 (EUR 0.50). CX23 at EUR 3.49 is the
 * figure seed 002 quotes for its preprod server. Prices change (Hetzner
 * adjusted them on 2026-04-01): check the list before budgeting, the plan only
 * estimates.
 */
export interface ServerType {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly architecture: "x86" | "arm";
  readonly monthlyEur: number;
}

const PRIMARY_IPV4_MONTHLY_EUR = 0.5;

function serverType(name: string, vcpus: number, memoryGb: number, diskGb: number, architecture: "x86" | "arm", baseMonthlyEur: number): ServerType {
  return { name, vcpus, memoryMb: memoryGb * 1024, diskGb, architecture, monthlyEur: round2(baseMonthlyEur + PRIMARY_IPV4_MONTHLY_EUR) };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export const SERVER_TYPES: readonly ServerType[] = [
  serverType("cx23", 2, 4, 40, "x86", 2.99),
  serverType("cx33", 4, 8, 80, "x86", 4.99),
  serverType("cx43", 8, 16, 160, "x86", 8.99),
  serverType("cx53", 16, 32, 320, "x86", 16.99),
  serverType("cax11", 2, 4, 40, "arm", 3.79),
  serverType("cax21", 4, 8, 80, "arm", 6.49),
  serverType("cax31", 8, 16, 160, "arm", 12.49),
  serverType("cax41", 16, 32, 320, "arm", 24.49),
  serverType("ccx13", 2, 8, 80, "x86", 12.49),
  serverType("ccx23", 4, 16, 160, "x86", 24.49),
  serverType("ccx33", 8, 32, 240, "x86", 48.49),
  serverType("ccx43", 16, 64, 360, "x86", 96.49),
  serverType("ccx53", 32, 128, 600, "x86", 192.49),
  serverType("ccx63", 48, 192, 960, "x86", 288.49),
];

export const SERVER_TYPE_NAMES: readonly string[] = SERVER_TYPES.map((type) => type.name);

export function findServerType(name: string): ServerType | undefined {
  return SERVER_TYPES.find((type) => type.name === name);
}

export const LOCATIONS: readonly string[] = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"];

/** Block storage volumes, per GB and month. */
export const VOLUME_EUR_PER_GB_MONTH = 0.044;

/**
 * Object Storage is billed per account, not per bucket: EUR 4.99 a month
 * includes 1 TB stored and 1 TB egress (the figure seed 002 quotes).
 */
export const OBJECT_STORAGE_BASE_MONTHLY_EUR = 4.99;

/** Load balancer LB11 (up to 25 targets), for the scaling phases. */
export const LOAD_BALANCER_LB11_MONTHLY_EUR = 5.39;

/**
 * Load balancer types the config accepts, with their monthly price. Only
 * LB11 is listed: seed 004's phase 4 needs one small balancer ("Hetzner LB
 * $6/mo"), and the larger types' prices are not in the source above.
 */
export const LOAD_BALANCER_TYPES: Readonly<Record<string, { readonly maxTargets: number; readonly monthlyEur: number }>> = {
  lb11: { maxTargets: 25, monthlyEur: LOAD_BALANCER_LB11_MONTHLY_EUR },
};
