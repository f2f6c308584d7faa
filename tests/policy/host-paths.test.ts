import { describe, expect, it } from "vitest";
import type { BindMount } from "../../components/container/service-spec";
import { canonicalHostPath } from "../../infra/policy/container-rules";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { hardenedSettings, modelOf, violationsOf } from "./models";

/**
 * C3 and C14 judge where a bind points on the host, not how its path is
 * written: every spelling of the Docker socket, of a directory above it or
 * of a sensitive directory is caught, on the model and on the registered
 * graph alike.
 */
const model = modelOf("prod");

/** The registered graph of one hardened container with `binds` as its host mounts, and tmpfs mounts at `masks`. */
function graphViolations(image: string, binds: readonly BindMount[], masks: readonly string[] = []) {
  const settings = hardenedSettings(masks);
  const volumes = binds.map((bind) => ({ hostPath: bind.hostPath, containerPath: bind.target, readOnly: bind.readOnly }));
  return evaluateGraph([{ type: "docker:index/container:Container", name: "web", inputs: { name: "vpai-web", image, ...settings, volumes } }], model)
    .violations;
}

/** The model's violations with n8n (or diun, which reads the Docker API through the proxy) given `binds`, and tmpfs mounts at `masks`. */
function modelViolations(service: "n8n" | "diun", binds: readonly BindMount[], masks: readonly string[] = []) {
  return evaluateModel(modelOf("prod", { service: { name: service, change: (spec) => ({ ...spec, binds, tmpfs: [...spec.tmpfs, ...masks] }) } })).violations;
}

describe("C3 and C14: host paths are judged after normalisation", () => {
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
    ["//var/run/docker.sock", false, "C3", /Docker socket .* read-write/],
    ["//var/run/docker.sock", false, "C14", /Docker socket \/run\/docker.sock \(written \/\/var\/run\/docker.sock\): read-only or not/],
    [
      "/var/run//docker.sock",
      true,
      "C14",
      /Docker socket \/run\/docker.sock \(written \/var\/run\/\/docker.sock\): read-only or not, whoever connects to it holds the whole Docker API/,
    ],
    ["/run/./docker.sock", false, "C3", /Docker socket .* read-write/],
    ["/var/run/../run/docker.sock", true, "C14", /Docker socket \/run\/docker.sock .*socket proxy at tcp:\/\/docker-socket-proxy:2375/],
    ["/var/lock/../run/docker.sock", true, "C14", /Docker socket \/run\/docker.sock/],
    ["/proc/self/root/var/run/docker.sock", true, "C14", /Docker socket \/run\/docker.sock/],
    ["/var/run/docker.sock/", false, "C3", /Docker socket .* read-write/],
    ["/var/run", true, "C14", /\/run \(written \/var\/run\), which holds the runtime sockets \/run\/docker.sock \(at \/mnt\/host\/docker.sock\)/],
    ["/run/", true, "C14", /holds the runtime sockets \/run\/docker.sock \(at \/mnt\/host\/docker.sock\)/],
    ["/var/run", false, "C3", /\/run \(written \/var\/run\) read-write, which holds the runtime sockets/],
    ["/run/containerd", true, "C14", /holds the runtime sockets \/run\/containerd\/containerd.sock \(at \/mnt\/host\/containerd.sock\)/],
    ["/var//run/containerd/containerd.sock", true, "C3", /containerd socket/],
    ["/home/../etc", false, "C3", /host directory \/etc \(written .*\) read-write/],
    ["/./etc/", false, "C3", /host directory \/etc \(written .*\) read-write/],
    ["/etc//ssh", false, "C3", /host directory \/etc\/ssh \(written .*\) read-write/],
    ["/var/lib/../lib/docker/volumes", false, "C3", /host directory \/var\/lib\/docker\/volumes \(written .*\) read-write/],
    [
      "/home/..",
      true,
      "C14",
      /host's root filesystem \(written \/home\/..\), which holds the runtime sockets \/run\/docker.sock \(at \/mnt\/host\/run\/docker.sock\)/,
    ],
    ["/.", true, "C14", /host's root filesystem/],
    ["/proc/1/root/", true, "C14", /host's root filesystem/],
  ])("%s (read-only %s) is a %s violation on the model and on the graph", (hostPath, readOnly, rule, message) => {
    const binds = [{ hostPath, target: "/mnt/host", readOnly }];
    for (const violations of [modelViolations("n8n", binds), graphViolations("example/web:1.0.0", binds)]) {
      const found = violations.filter((violation) => violation.rule === rule);
      expect(found.map((violation) => violation.message).join("\n"), JSON.stringify(violations)).toMatch(message);
    }
  });

  it("a consumer of the Docker API given the socket back, read-only, is refused: it has the proxy", () => {
    const binds = [{ hostPath: "/run//docker.sock", target: "/var/run/docker.sock", readOnly: true }];
    expect(
      violationsOf({ violations: modelViolations("diun", binds), waivers: [], notApplicable: [] }, "C14")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/Docker socket \/run\/docker.sock/);
    expect(graphViolations("crazymax/diun:4.29.0", binds).filter((violation) => violation.rule === "C14").length).toBeGreaterThan(0);
  });

  it("a consumer's socket written as /run/docker.sock read-write is refused under C3 as well", () => {
    const binds = [{ hostPath: "/run//docker.sock", target: "/var/run/docker.sock", readOnly: false }];
    expect(
      violationsOf({ violations: modelViolations("diun", binds), waivers: [], notApplicable: [] }, "C3")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/read-write/);
    expect(graphViolations("crazymax/diun:4.29.0", binds).filter((violation) => violation.rule === "C3").length).toBeGreaterThan(0);
  });

  it("DOCKER_HOST=unix:///var/run/docker.sock with /var/run bound as a directory is refused: the bind, not the variable, reaches the socket", () => {
    const violations = evaluateModel(
      modelOf("prod", {
        service: {
          name: "n8n",
          change: (spec) => ({
            ...spec,
            env: { ...spec.env, DOCKER_HOST: "unix:///var/run/docker.sock" },
            binds: [{ hostPath: "/var/run", target: "/var/run", readOnly: true }],
          }),
        },
      }),
    ).violations;
    expect(
      violationsOf({ violations, waivers: [], notApplicable: [] }, "C14")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/\/run \(written \/var\/run\), which holds the runtime sockets \/run\/docker.sock \(at \/var\/run\/docker.sock\)/);
  });

  it.each([["/srv/data"], ["/home/app/./data/"], ["/etc/../srv/cache"], ["/opt//app"]])("%s read-write is a harmless data directory", (hostPath) => {
    const binds = [{ hostPath, target: "/data", readOnly: false }];
    expect(violationsOf({ violations: modelViolations("n8n", binds), waivers: [], notApplicable: [] }, "C3")).toEqual([]);
    expect(graphViolations("example/web:1.0.0", binds)).toEqual([]);
  });
});

describe("C14: a tmpfs below a bound directory hides the sockets in it", () => {
  const root = [{ hostPath: "/", target: "/host/root", readOnly: true }];

  it.each([["/host/root/run"], ["/host//root/./run/"], ["/host/root/run/../run"]])(
    "the host's root at /host/root with a tmpfs at %s shows no socket: only C3's root filesystem finding remains",
    (mask) => {
      for (const violations of [modelViolations("n8n", root, [mask]), graphViolations("example/web:1.0.0", root, [mask])]) {
        expect(
          violations.filter((violation) => violation.rule === "C14"),
          JSON.stringify(violations),
        ).toEqual([]);
        expect(violations.filter((violation) => violation.rule === "C3").map((violation) => violation.message)).toEqual(["mounts the host's root filesystem"]);
      }
    },
  );

  it.each([
    ["/host/root/var/run", "a link in the bound tree: Docker resolves it inside the container, to the container's own /run"],
    ["/host/root", "the bind's own mount point, which Docker refuses to mount twice"],
    ["/host/root/run/docker", "a directory beside the socket, not above it"],
    ["/host/rootfs/run", "another tree"],
  ])("a tmpfs at %s hides nothing: %s", (mask) => {
    for (const violations of [modelViolations("n8n", root, [mask]), graphViolations("example/web:1.0.0", root, [mask])]) {
      expect(
        violations
          .filter((violation) => violation.rule === "C14")
          .map((violation) => violation.message)
          .join("\n"),
        JSON.stringify(violations),
      ).toMatch(/holds the runtime sockets \/run\/docker.sock \(at \/host\/root\/run\/docker.sock\)/);
    }
  });

  it("a tmpfs given as a mount of type tmpfs hides the sockets on the graph too", () => {
    const settings = hardenedSettings();
    const inputs = {
      name: "vpai-web",
      image: "example/web:1.0.0",
      ...settings,
      mounts: [
        { type: "bind", source: "/", target: "/host", readOnly: true },
        { type: "tmpfs", target: "/host/run" },
      ],
    };
    const violations = evaluateGraph([{ type: "docker:index/container:Container", name: "web", inputs }], model).violations;
    expect(violations.filter((violation) => violation.rule === "C14")).toEqual([]);
  });
});
