import type { Role } from "../../components/compute/server-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import type { ServiceSpec } from "../../components/container/service-spec";
import type { SecretDeclaration } from "../config/schema";

/** A public name under the stack's domain, served by the ingress. */
export interface RouteSpec {
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
}

export interface BucketSpec {
  /** Suffix of the physical name: `<bucketPrefix>-<key>`. */
  readonly key: string;
  readonly purpose: string;
}

/** What a blueprint needs to know of the environment; everything else is its own. */
export interface BlueprintEnvironment {
  readonly domain: string;
  readonly environment: string;
}

/** A platform as data: the blueprint's answer for one environment. */
export interface PlatformSpec {
  readonly networks: readonly NetworkSpec[];
  readonly services: readonly ServiceSpec[];
  readonly routes: readonly RouteSpec[];
  readonly buckets: readonly BucketSpec[];
}

export interface Blueprint {
  readonly name: string;
  readonly title: string;
  /** The seed document it was built from. */
  readonly seed: string;
  /** Prefix of container, network and volume names on the host. */
  readonly namePrefix: string;
  readonly secrets: readonly SecretDeclaration[];
  /** Roles its services take; the stack's servers must cover them. */
  readonly roles: readonly Role[];
  /** RAM kept for the OS, Docker and page cache when budgeting containers. */
  readonly systemReserveMb: number;
  build(environment: BlueprintEnvironment): PlatformSpec;
}
