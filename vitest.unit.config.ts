import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config";

// The fast tier (`npm run test:unit`): pure functions, graphs, policy, plans
// and the Debian validators; none of the tests below, which start servers,
// network namespaces or the testbed VPS, or need the tools built from the Go
// module proxy. `npm test` runs everything, these included.
export const LIVE_TESTS = [
  "tests/backup/{failure,managed-database,pitr,round-trip,runbook,seed-preprod,size,retention}.test.ts",
  "tests/blueprints/{ingress-validators,ingress-client-address,galion-pitr,ai-video-roles}.test.ts",
  "tests/components/{basic-auth,docker-api-proxy-live,redis-auth}.test.ts",
  "tests/docker-provider/**",
  "tests/engine/**",
  "tests/host/{firewall-live,private-network-live}.test.ts",
  "tests/monitoring/dependency-probe-live.test.ts",
  "tests/newcomer/**",
  "tests/policy-pack/**",
  "tests/scaling/hcloud-server-resize.test.ts",
  "tests/storage/bucket-provider.test.ts",
  "tests/testbed/**",
  "tests/workflows.test.ts",
  "tests/workflows/deploy-ssh.test.ts",
];

export default mergeConfig(base, defineConfig({ test: { exclude: ["**/node_modules/**", ...LIVE_TESTS] } }));
