import { describe, expect, it } from "vitest";
import { containerSettings } from "../../components/container/container-settings";
import { healthcheck, service, type BindMount } from "../../components/container/service-spec";
import { canonicalHostPath } from "../../infra/policy/container-rules";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { modelOf, violationsOf } from "./models";

/**
 * C3 judges where a bind points on the host, not how its path is written:
 * every spelling of the Docker socket or of a sensitive directory is caught,
 * on the model and on the registered graph alike.
 */
const model = modelOf("prod");

/** The registered graph of one hardened container with `binds` as its host mounts. */
function graphViolations(image: string, binds: readonly BindMount[]) {
  const spec = service({ name: "web", description: "test", role: "app", image: { repository: "example/web", tag: "1.0.0" }, networks: [], healthcheck: healthcheck(["CMD", "true"]), memoryMb: 64, user: "1000", readOnlyRootFilesystem: true });
  const { uploads: _uploads, binds: _binds, ...settings } = containerSettings(spec);
  const volumes = binds.map((bind) => ({ hostPath: bind.hostPath, containerPath: bind.target, readOnly: bind.readOnly }));
  return evaluateGraph([{ type: "docker:index/container:Container", name: "web", inputs: { name: "vpai-web", image, ...settings, volumes } }], model).violations;
}

/** The model's violations with n8n (or diun, an allow-listed socket consumer) given `binds`. */
function modelViolations(service: "n8n" | "diun", binds: readonly BindMount[]) {
  return evaluateModel(modelOf("prod", { service: { name: service, change: (spec) => ({ ...spec, binds }) } })).violations;
}

describe("C3: host paths are judged after normalisation", () => {
  it.each([
    ["/var/run/docker.sock", "/run/docker.sock"],
    ["//var/run/docker.sock", "/run/docker.sock"],
    ["/var/run//docker.sock/", "/run/docker.sock"],
    ["/run/./docker.sock", "/run/docker.sock"],
    ["/var/run/../run/docker.sock", "/run/docker.sock"],
    ["/home/../etc", "/etc"],
    ["/./etc/", "/etc"],
    ["/home/..", "/"],
    ["/.", "/"],
    ["//", "/"],
    ["/var/./lock/x", "/run/lock/x"],
    ["/srv/../../../etc/shadow", "/etc/shadow"],
    ["/proc/1/root", "/"],
    ["/proc/self/root/etc/", "/etc"],
  ])("%s is %s on a Debian host", (written, canonical) => {
    expect(canonicalHostPath(written)).toBe(canonical);
  });

  it.each([
    ["//var/run/docker.sock", false, /Docker socket .* read-write/],
    ["/var/run//docker.sock", true, /not an allow-listed socket consumer/],
    ["/run/./docker.sock", false, /Docker socket .* read-write/],
    ["/var/run/../run/docker.sock", true, /not an allow-listed socket consumer/],
    ["/var/run/docker.sock/", false, /Docker socket .* read-write/],
    ["/var/run", true, /\/run \(written \/var\/run\), which holds the runtime sockets \/run\/docker.sock/],
    ["/run/", true, /holds the runtime sockets \/run\/docker.sock/],
    ["/var//run/containerd/containerd.sock", true, /containerd socket/],
    ["/home/../etc", false, /host directory \/etc \(written .*\) read-write/],
    ["/./etc/", false, /host directory \/etc \(written .*\) read-write/],
    ["/etc//ssh", false, /host directory \/etc\/ssh \(written .*\) read-write/],
    ["/var/lib/../lib/docker/volumes", false, /host directory \/var\/lib\/docker\/volumes \(written .*\) read-write/],
    ["/home/..", true, /host's root filesystem/],
    ["/.", true, /host's root filesystem/],
    ["/proc/1/root/", true, /host's root filesystem/],
  ])("%s (read-only %s) is a C3 violation on the model and on the graph", (hostPath, readOnly, message) => {
    const binds = [{ hostPath, target: "/mnt/host", readOnly }];
    for (const violations of [modelViolations("n8n", binds), graphViolations("example/web:1.0.0", binds)]) {
      const c3 = violations.filter((violation) => violation.rule === "C3");
      expect(c3.map((violation) => violation.message).join("\n"), JSON.stringify(violations)).toMatch(message);
    }
  });

  it("an allow-listed consumer's socket written as /run/docker.sock read-write is still refused", () => {
    const binds = [{ hostPath: "/run//docker.sock", target: "/var/run/docker.sock", readOnly: false }];
    expect(violationsOf({ violations: modelViolations("diun", binds), waivers: [], notApplicable: [] }, "C3").map((violation) => violation.message).join("\n")).toMatch(/read-write/);
    expect(graphViolations("crazymax/diun:4.29.0", binds).filter((violation) => violation.rule === "C3").length).toBeGreaterThan(0);
  });

  it.each([["/srv/data"], ["/home/app/./data/"], ["/etc/../srv/cache"], ["/opt//app"]])("%s read-write is a harmless data directory", (hostPath) => {
    const binds = [{ hostPath, target: "/data", readOnly: false }];
    expect(violationsOf({ violations: modelViolations("n8n", binds), waivers: [], notApplicable: [] }, "C3")).toEqual([]);
    expect(graphViolations("example/web:1.0.0", binds)).toEqual([]);
  });
});
