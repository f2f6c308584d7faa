import {
  cloudInitUserData,
  FIREWALL_SCRIPT_PATH,
  hostPrepareScript,
  readFilesOfScript,
  readPackagesOfScript,
  readUserData,
} from "../../components/compute/host-setup";
import type { ServerConfig } from "../../components/compute/server-spec";
import { ufwScript, type HostFirewall } from "../../components/network/firewall-rules";
import type { HostConfiguration } from "./host-rules";

/**
 * What a host will be configured with, read back out of the very artifacts
 * the Server and Firewall components register: the user-data of a Hetzner
 * server or the preparation script of an existing one, and the UFW script.
 */
export function hostConfigurationOf(server: ServerConfig, firewall: HostFirewall, resource: string): HostConfiguration {
  if (server.provider === "hetzner") {
    const { files, packages } = readUserData(cloudInitUserData({ sshUser: server.sshUser, sshPublicKey: server.sshPublicKey, firewall }));
    const script = files.get(FIREWALL_SCRIPT_PATH);
    // The Hetzner firewall is attached at creation (F4), in front of the
    // host, so a Docker-published port cannot bypass it.
    return { resource, files, packages, cloudFirewall: true, ...(script === undefined ? {} : { ufwScript: script }) };
  }
  const script = hostPrepareScript({ sshUser: server.sshUser });
  return {
    resource,
    files: readFilesOfScript(script),
    packages: readPackagesOfScript(script),
    ufwScript: ufwScript(firewall.rules, firewall.peers),
    cloudFirewall: false,
  };
}
