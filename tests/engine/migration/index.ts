import * as pulumi from "@pulumi/pulumi";
import { SSHCommand } from "../../../components/remote/ssh-command";

// The backup job's install command as components/backup/backup.ts registers
// it (same name, no parent, a delete script, deleteBeforeReplace), against
// the sshd that tests/engine/migration.test.ts starts. Each script appends to
// a file, so the file tells what ran.
const config = new pulumi.Config();
const log = config.require("logFile");

new SSHCommand(
  "host-backup-install",
  {
    connection: {
      host: "127.0.0.1",
      port: config.requireNumber("sshPort"),
      user: config.require("sshUser"),
      privateKey: config.requireSecret("sshPrivateKey"),
      hostPublicKey: config.require("sshHostPublicKey"),
    },
    create: "bash -s",
    stdin: `echo installed >> '${log}'`,
    delete: `echo uninstalled >> '${log}'`,
    triggers: ["v1"],
  },
  { deleteBeforeReplace: true },
);
