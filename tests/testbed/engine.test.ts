import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { rawConfigWithSecrets } from "../support/stack-config";
import { requireTool } from "../support/tools";
import { createRequest, uploadArchive } from "./engine";
import { programContainers, type ContainerInputs } from "./program-containers";

// The testbed starts the program's containers through the Engine API as
// terraform-provider-docker does; these pin that translation on the
// program's own inputs, and the upload archive on GNU tar.

let containers: Map<string, ContainerInputs>;

beforeAll(async () => {
  const program = await programContainers(rawConfigWithSecrets({ "infra:blueprint": "fastapi" }, "prod", { "infra:postgresPassword": "pw-of-the-test" }));
  containers = new Map(program.containers.map((container) => [container.inputs.name, container.inputs]));
});

describe("createRequest", () => {
  it("carries the program's settings for PostgreSQL, with the testbed's image and health interval", () => {
    const request = createRequest(containers.get("fastapi-postgres")!, "10.213.1.1:5000/library/postgres:16.6-alpine", 2) as {
      Image: string;
      Env: string[];
      Healthcheck: Record<string, unknown>;
      HostConfig: Record<string, unknown>;
    };
    expect(request.Image).toBe("10.213.1.1:5000/library/postgres:16.6-alpine");
    // The password is a secret file (C15): the environment names its path, never the value, and the file is bound read-only.
    expect(request.Env).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password");
    expect(request.Env.join("\n")).not.toContain("pw-of-the-test");
    expect(request.Healthcheck).toEqual({ Test: ["CMD-SHELL", "pg_isready -U postgres -d app"], Interval: 2e9, Timeout: 5e9, StartPeriod: 30e9, Retries: 3 });
    expect(request.HostConfig).toMatchObject({
      Binds: ["fastapi-postgres-data:/var/lib/postgresql/data", "/etc/infra/secrets/fastapi-postgres/postgres-password:/run/secrets/postgres-password:ro"],
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m", "/var/run/postgresql": "rw,noexec,nosuid,size=64m" },
      CapAdd: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"],
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Memory: 512 * 1024 * 1024,
      RestartPolicy: { Name: "unless-stopped" },
      Ulimits: [{ Name: "nproc", Soft: 256, Hard: 256 }],
    });
  });

  it("publishes ports and mounts host paths read-only as the program asks", () => {
    const nginx = createRequest(containers.get("fastapi-nginx")!, "nginx", 2) as {
      ExposedPorts: object;
      User: string;
      Cmd: string[];
      HostConfig: Record<string, unknown>;
    };
    expect(nginx.User).toBe("101");
    expect(nginx.Cmd[0]).toBe("sh");
    expect(nginx.ExposedPorts).toEqual({ "80/tcp": {}, "443/tcp": {} });
    expect(nginx.HostConfig).toMatchObject({
      PortBindings: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "80" }], "443/tcp": [{ HostIp: "0.0.0.0", HostPort: "443" }] },
      // The certificates, and the live nginx.conf its config command writes on the host.
      Binds: ["/var/lib/fastapi/letsencrypt:/etc/letsencrypt:ro", "/srv/infra/fastapi-nginx:/etc/infra:ro"],
    });
  });
});

describe("uploadArchive", () => {
  it.each([
    ["/etc/prometheus/prometheus.yml", false, "-rw-r--r-- 0/0"],
    ["/docker-entrypoint-initdb.d/10-databases.sh", true, "-rwxr--r-- 0/0"],
  ])("%s: one root-owned file at its path, as the provider uploads it", (file, executable, mode) => {
    const tar = requireTool("tar");
    const listing = spawnSync(tar, ["-tv", "--numeric-owner", "-f", "-"], { input: uploadArchive(file, "content\n", executable), encoding: "utf8" });
    expect(listing.status, listing.stderr).toBe(0);
    expect(listing.stdout.trim().split("\n")).toHaveLength(1);
    expect(listing.stdout).toMatch(new RegExp(`^${mode.replace(/[-/]/g, "\\$&")} +8 .* ${file.slice(1)}$`, "m"));
    const content = spawnSync(tar, ["-xO", "-f", "-"], { input: uploadArchive(file, "content\n", executable), encoding: "utf8" });
    expect(content.stdout).toBe("content\n");
  });
});
