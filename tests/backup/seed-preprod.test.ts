import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { seedSteps } from "../../tools/backup/seed-preprod";
import { PROJECT_DIR } from "../support/stack-config";

describe("seeding preprod from prod (B8)", () => {
  it("restores prod's repository on preprod's server, and removes the password whatever the outcome", () => {
    const [step] = seedSteps(PROJECT_DIR, "prod", "preprod", { main: "198.51.100.20" });
    expect(step).toMatchObject({
      server: "main",
      sshTarget: "deploy@198.51.100.20",
      sshPort: 22,
      repository: "s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main",
    });
    expect(step!.commands[0]).toBe("umask 077 && cat >/tmp/infra-seed-restic-password");
    expect(step!.commands[1]).toMatch(
      /^sudo infra-restore --repository s3:https:\/\/fsn1\.your-objectstorage\.com\/vpai-backups\/restic\/main --password-file \/tmp\/infra-seed-restic-password --host main --report \/var\/tmp\/infra-seed-report\.json; status=\$\?; rm -f \/tmp\/infra-seed-restic-password; exit \$status$/,
    );
  });

  it("refuses to guess the address of a server that does not exist yet", () => {
    expect(() => seedSteps(PROJECT_DIR, "prod", "preprod")).toThrow(/--address main=<ip>/);
  });

  it("prints its plan with --dry-run and no credentials", () => {
    const output = execFileSync(
      resolve(PROJECT_DIR, "node_modules/.bin/tsx"),
      ["tools/backup/seed-preprod.ts", "--from", "prod", "--to", "preprod", "--address", "main=198.51.100.20", "--dry-run"],
      { cwd: PROJECT_DIR, encoding: "utf8" },
    );
    expect(output).toContain("main: ssh -p 22 deploy@198.51.100.20");
    expect(output).toContain("--repository s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main");
  });
});

describe("seeding a server at an IPv6 address", () => {
  it("gives ssh the address bare, as its user@host form takes it (brackets there would be part of the name)", () => {
    const [step] = seedSteps(PROJECT_DIR, "prod", "preprod", { main: "2001:db8::20" });
    expect(step).toMatchObject({ sshTarget: "deploy@2001:db8::20", sshPort: 22 });
  });
});
