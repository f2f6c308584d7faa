import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config";

/**
 * Three kinds of test, all of which `npm test` runs:
 * - the unit tier (`npm run test:unit`, under a minute): pure functions,
 *   graphs, policy and plans, under Pulumi's mocks; it starts no process;
 * - SLOW_TESTS: what the program generates, read back by the tool that will
 *   consume it (nginx -t, caddy, Traefik, promtool, amtool, shellcheck,
 *   cloud-init, sshd -t, Mermaid's parser under jsdom), or the real plan
 *   command and the TypeScript compiler in a process of their own;
 * - LIVE_TESTS: real servers, network namespaces, the testbed VPS, and the
 *   tools built from the Go module proxy.
 */
export const LIVE_TESTS = [
  "tests/backup/{failure,managed-database,pitr,round-trip,runbook,seed-preprod,size,retention}.test.ts",
  // Two network namespaces over WireGuard (wireguard-go), sshd, PostgreSQL, restic and MinIO.
  "tests/backup/pull-live.test.ts",
  "tests/blueprints/{ingress-validators,ingress-client-address,galion-pitr,ai-video-roles}.test.ts",
  "tests/components/{basic-auth,docker-api-proxy-live,redis-auth}.test.ts",
  "tests/docker-provider/**",
  "tests/engine/**",
  "tests/host/{firewall-live,private-network-live}.test.ts",
  "tests/monitoring/dependency-probe-live.test.ts",
  "tests/newcomer/**",
  "tests/policy-pack/**",
  // sshd on 127.0.0.1 and ::1.
  "tests/remote/ssh-command-live.test.ts",
  "tests/scaling/hcloud-server-resize.test.ts",
  "tests/storage/bucket-provider.test.ts",
  "tests/testbed/**",
  "tests/workflows.test.ts",
  "tests/workflows/deploy-ssh.test.ts",
];

export const SLOW_TESTS = [
  // promtool check config/rules and test rules, amtool, blackbox_exporter, for every blueprint on both stacks.
  "tests/monitoring/{blueprints,configs}.test.ts",
  // cloud-init schema, shellcheck, sshd -t, caddy, fail2ban and apt on every host artifact.
  "tests/host/validators.test.ts",
  // Mermaid's own parser under jsdom, for every blueprint, stack and phase.
  "tests/plan/mermaid.test.ts",
  // The real plan command (tools/plan.sh, and through npm); the unit tier runs the same command in-process (tests/plan/bad-input.test.ts).
  "tests/plan/cli.test.ts",
  // tsc over the policy pack as ts-node sees it.
  "tests/policy/policy-pack.test.ts",
  // Traefik, nginx -t, caddy and promtool on the blueprints' generated files.
  "tests/blueprints/{ai-video,fastapi,nextmavens}.test.ts",
  // promtool check rules and a promtool test rules case for every alert.
  "tests/monitoring/alert-rules.test.ts",
  // shellcheck, bash, caddy, nginx and Traefik on the generated scripts, routes and files.
  "tests/backup/{before-replace,generators}.test.ts",
  "tests/components/{caddyfile,health-gate,host-setup,live-config,route-access,secret-files}.test.ts",
  "tests/workflows/vpn-join.test.ts",
  // haproxy -c on the Docker socket proxy's configuration; shellcheck on the registry CA's install script.
  "tests/components/{docker-api-proxy,image-registry}.test.ts",
  // ssh-keygen on the generated host keys; ssh -G on the generated client configuration.
  "tests/components/ssh-host-key.test.ts",
  "tests/remote/{host-key,ssh-client-config-file}.test.ts",
  // shellcheck on the pull scripts; wg, wg-quick, promtool, blackbox_exporter and shellcheck on the ops host's files.
  "tests/backup/pull.test.ts",
  "tests/ops-host/ops-host.test.ts",
  // A migration's proof, not a loop's: every plan case again, as the stacks were before the ops host, against the inventory from before the resource tree.
  "tests/stacks/resource-tree-move.test.ts",
];

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ["**/node_modules/**", ...LIVE_TESTS, ...SLOW_TESTS],
      // The test files share one module graph per worker, so a stack's plan
      // (tests/support/plans.ts) is made once per worker instead of once per
      // file that reads it. No unit test mocks a module or changes the
      // process's environment (no vi.mock, vi.stubEnv or process.env writes).
      isolate: false,
    },
  }),
);
