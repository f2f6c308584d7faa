import { secretFileTarget } from "../../components/container/secret-files";
import { secretKeysOf, type ServiceSpec } from "../../components/container/service-spec";
import type { Finding } from "./report";

/**
 * C15 on the model. A secret in a container's environment is shown by
 * `docker inspect` to anyone who may talk to Docker and kept in the Docker
 * provider's state, so each variable that carries one is a finding of its
 * own: a secret inside a connection URL counts, and one secret under two
 * names is two findings. A service whose image reads the value from its
 * environment only waives C15 with that reason.
 *
 * A secret file read into a command-line argument (`--requirepass
 * "$(cat /run/secrets/...)"`) trades `docker inspect` for `ps`, which every
 * user of the host may run, so it is a finding too; reading it into a
 * variable (`REDISCLI_AUTH="$(cat ...)" redis-cli`) is not.
 */
export function secretDeliveryFindings(spec: ServiceSpec, resource: string): Finding[] {
  const findings: Finding[] = [];
  for (const [variable, value] of Object.entries(spec.env)) {
    const keys = [...new Set(secretKeysOf(value))];
    if (keys.length > 0)
      findings.push({ rule: "C15", resource, message: `${variable} carries ${keys.join(", ")} in the container's environment, which docker inspect shows` });
  }
  const lines = [
    ...(spec.entrypoint ?? []).map((word) => ["entrypoint", word] as const),
    ...(spec.command ?? []).map((word) => ["command", word] as const),
    ...spec.healthcheck.test.map((word) => ["health check", word] as const),
  ];
  for (const file of spec.secretFiles) {
    const path = secretFileTarget(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // $(cat PATH), $(< PATH) or `cat PATH`, quoted or not, unless it is the value of an assignment.
    const read = new RegExp(`(?<!=)(?<!=["'])(\\$\\(\\s*(cat\\s+|<\\s*)|\`\\s*cat\\s+)["']?${path}["']?\\s*[)\`]`);
    for (const [where, word] of lines) {
      if (read.test(word))
        findings.push({
          rule: "C15",
          resource,
          message: `its ${where} reads secret file ${file.name} into a command-line argument, which ps shows on the host`,
        });
    }
  }
  return findings;
}
