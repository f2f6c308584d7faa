import { CLOUDFLARE_IPV4 } from "../../components/network/cloudflare-ranges";

/** Two of Cloudflare's published ranges, enough to tell a Cloudflare-only rule from an open one. */
export const CLOUDFLARE_RANGES_FOR_TEST = CLOUDFLARE_IPV4.slice(0, 2);
