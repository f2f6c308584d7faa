import { describe, expect, it } from "vitest";
import { commandDiff } from "../../components/remote/command-diff";
import { failureMessage, outputTail, REDACTED, redactStdin } from "../../components/remote/command-failure";
import { controlArguments, pinnedHostKeyOptions, sshArguments, urlHost } from "../../components/remote/ssh-arguments";

/** The pure parts of the SSH command: its ssh arguments, when it runs again, and what a failure reports. */
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL";
const files = { identity: "/tmp/infra-ssh-call-x/identity", knownHosts: "/tmp/infra-ssh-call-x/known_hosts", controlPath: "/tmp/infra-ssh-0/0123abcd" };

/** The value of each `-o Name=value` option. */
function options(args: string[]): Record<string, string> {
  return Object.fromEntries(args.flatMap((arg, index) => (args[index - 1] === "-o" ? [arg.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])));
}

describe("urlHost", () => {
  it.each([
    ["2001:db8::20", "[2001:db8::20]"],
    ["::1", "[::1]"],
    ["::ffff:cb00:7114", "[::ffff:cb00:7114]"],
    ["[2001:db8::20]", "[2001:db8::20]"],
    ["203.0.113.20", "203.0.113.20"],
    ["vps.example.com", "vps.example.com"],
  ])("%s is %s in a URL", (host, inURL) => {
    expect(urlHost(host)).toBe(inURL);
    // A URL parser then reads the port after it as the port, not as part of the address.
    expect(new URL(`http://deploy@${urlHost(host)}:2222`).port).toBe("2222");
  });
});

describe("ssh arguments", () => {
  const args = sshArguments({ host: "2001:db8::20", port: 2222, user: "deploy" }, files, "sudo bash -s");

  it("trust only the pinned key: strict checking, the per-call known_hosts, no global file, no config file (H9)", () => {
    expect(options(args)).toMatchObject({
      StrictHostKeyChecking: "yes",
      UserKnownHostsFile: files.knownHosts,
      GlobalKnownHostsFile: "/dev/null",
      UpdateHostKeys: "no",
      BatchMode: "yes",
      IdentitiesOnly: "yes",
    });
    expect(args.slice(0, 2)).toEqual(["-F", "/dev/null"]);
    expect(args[args.indexOf("-i") + 1]).toBe(files.identity);
    expect(args.join(" ")).not.toMatch(/accept-new|StrictHostKeyChecking=no/);
  });

  it("share one connection per host, account and keys, for a minute after its last command", () => {
    expect(options(args)).toMatchObject({ ControlMaster: "auto", ControlPath: files.controlPath, ControlPersist: "60" });
  });

  it("give the port and the account apart and the host after --, so an IPv6 address needs no brackets and no host is read as an option", () => {
    expect(args.slice(-7)).toEqual(["-p", "2222", "-l", "deploy", "--", "2001:db8::20", "sudo bash -s"]);
  });

  it("escape ssh's % tokens and refuse paths ssh would split", () => {
    expect(options(pinnedHostKeyOptions("/tmp/100%/known_hosts")).UserKnownHostsFile).toBe("/tmp/100%%/known_hosts");
    expect(() => pinnedHostKeyOptions("/tmp/my dir/known_hosts")).toThrow(/whitespace/);
  });

  it("control commands name the same socket", () => {
    expect(controlArguments({ host: "203.0.113.20", port: 22, user: "deploy" }, files.controlPath, "exit")).toEqual([
      "-F",
      "/dev/null",
      "-o",
      `ControlPath=${files.controlPath}`,
      "-O",
      "exit",
      "-p",
      "22",
      "-l",
      "deploy",
      "--",
      "203.0.113.20",
    ]);
  });
});

describe("when a command runs again", () => {
  const connection = { host: "203.0.113.20", port: 22, user: "deploy", hostPublicKey: HOST_KEY };
  const state = {
    resourceName: "vpai-main-prepare",
    connection,
    privateKey: "key-1",
    create: "sudo bash -s",
    stdin: "echo hi",
    delete: "true",
    triggers: ["abc"],
    stdout: "hi\n",
  };
  const inputs = (changes: Record<string, unknown>) => ({ ...state, stdout: undefined, ...changes });

  it.each([
    ["nothing changed", {}, { changes: false, replaces: [] }],
    ["the script", { create: "sudo bash -s --" }, { changes: true, replaces: ["create"] }],
    ["its stdin", { stdin: "echo hello" }, { changes: true, replaces: ["stdin"] }],
    ["its triggers", { triggers: ["def"] }, { changes: true, replaces: ["triggers"] }],
    ["a trigger appears", { triggers: ["abc", "cx33"] }, { changes: true, replaces: ["triggers"] }],
    ["the host", { connection: { ...connection, host: "203.0.113.21" } }, { changes: true, replaces: ["connection"] }],
    ["the port", { connection: { ...connection, port: 2222 } }, { changes: true, replaces: ["connection"] }],
    ["the account", { connection: { ...connection, user: "admin" } }, { changes: true, replaces: ["connection"] }],
    ["the admin key (stored, nothing runs)", { privateKey: "key-2" }, { changes: true, replaces: [] }],
    ["the pinned host key (stored, nothing runs)", { connection: { ...connection, hostPublicKey: `${HOST_KEY}x` } }, { changes: true, replaces: [] }],
    ["the delete script (stored, nothing runs)", { delete: "false" }, { changes: true, replaces: [] }],
    ["the resource name only", { resourceName: "renamed" }, { changes: false, replaces: [] }],
    ["script and stdin together", { create: "bash -s", stdin: "echo 2" }, { changes: true, replaces: ["create", "stdin"] }],
  ])("%s", (_name, changes, expected) => {
    expect(commandDiff(state, inputs(changes))).toEqual({ ...expected, deleteBeforeReplace: false });
  });

  it("an absent and an empty-but-unset stdin are the same", () => {
    const { stdin: _stdin, ...withoutStdin } = state;
    expect(commandDiff(withoutStdin, { ...withoutStdin, stdin: undefined }).changes).toBe(false);
  });
});

describe("what a failed command reports", () => {
  const secretEnvironment = "RESTIC_PASSWORD=correct-horse-battery-staple\nAWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG'\nBACKUP_HOST=main\n";
  const failure = {
    resource: "vpai-main-backup-environment",
    user: "deploy",
    host: "203.0.113.20",
    port: 22,
    hostPublicKey: `${HOST_KEY} comment`,
    exitCode: 3,
    output: `${Array.from({ length: 40 }, (_, index) => `step ${index + 1}`).join("\n")}\n+ echo correct-horse-battery-staple\nwJalrXUtnFEMI/K7MDENG\n`,
    stdin: secretEnvironment,
  };

  it("names the resource, the host and the exit code, and shows the last 20 lines", () => {
    const message = failureMessage(failure);
    expect(message.split("\n")[0]).toBe(
      "remote command vpai-main-backup-environment on deploy@203.0.113.20:22 failed with exit code 3; the last 20 lines of its output:",
    );
    expect(message.split("\n")).toHaveLength(21);
    expect(message).toContain("    step 23\n");
    expect(message).not.toContain("step 22\n");
  });

  it("never shows stdin, even when the script echoed it", () => {
    const message = failureMessage(failure);
    expect(message).not.toContain("correct-horse-battery-staple");
    expect(message).not.toContain("wJalrXUtnFEMI/K7MDENG");
    expect(message).toContain(`+ echo ${REDACTED}`);
  });

  it("takes out stdin's lines and the values of its assignments, but not short common words", () => {
    expect(redactStdin("a: correct-horse-battery-staple, b: BACKUP_HOST=main, c: main", secretEnvironment)).toBe(`a: ${REDACTED}, b: ${REDACTED}, c: main`);
    expect(redactStdin("token: abcdefgh", "api_key: abcdefgh\n")).toBe(`token: ${REDACTED}`);
    expect(redactStdin("anything", undefined)).toBe("anything");
  });

  it("brackets an IPv6 host and says when a command was stopped or printed nothing", () => {
    expect(failureMessage({ ...failure, host: "2001:db8::20", port: 2222, exitCode: null, timeoutSeconds: 1800, output: "" })).toBe(
      "remote command vpai-main-backup-environment on deploy@[2001:db8::20]:2222 was stopped after 1800 s and printed nothing",
    );
  });

  it("explains a host key that is not the pinned one, and says the command did not run (H9)", () => {
    const message = failureMessage({
      ...failure,
      exitCode: 255,
      output: "Host key for 203.0.113.20 has changed and you have requested strict checking.\nHost key verification failed.\n",
    });
    expect(message).toMatch(
      /^remote command vpai-main-backup-environment did not run: deploy@203\.0\.113\.20:22 did not present the pinned host key ssh-ed25519 AAAAC3Nza\S+ \(H9\)/,
    );
    expect(message).not.toContain("comment");
    expect(message).toContain("Host key verification failed.");
  });

  it("leaves out ssh's notice that a command ran without the shared connection", () => {
    expect(outputTail("ControlSocket /tmp/infra-ssh-0/ab already exists, disabling multiplexing\r\nreal error\n", undefined)).toEqual(["real error"]);
  });
});
