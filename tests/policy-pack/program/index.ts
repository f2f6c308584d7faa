import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerSettings } from "../../../components/container/container-settings";
import { healthcheck, imageName, service, type ImageRef } from "../../../components/container/service-spec";

/**
 * The program `pulumi preview --policy-pack policy-pack` runs in
 * tests/policy-pack/preview.test.ts: two containers against the local Docker
 * engine (a preview creates nothing), with the settings the Service
 * component registers. It is not the platform program, so the program's own
 * policy (enforcePolicy, which refuses before anything is registered) never
 * runs: the pack is the only check. `check:violate` breaks two rules the
 * pack checks: C1 (privileged) and E4 (a data API connecting as a superuser,
 * named only inside a Pulumi secret).
 */
const violate = new pulumi.Config("check").getBoolean("violate") ?? false;
const provider = new docker.Provider("local", { host: "unix:///var/run/docker.sock" });

function container(resourceName: string, name: string, image: ImageRef, extra: Partial<docker.ContainerArgs>): docker.Container {
  const spec = service({
    name,
    description: name,
    role: "app",
    image,
    networks: [],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 64,
    user: "1000",
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
  });
  const { uploads: _uploads, ...settings } = containerSettings(spec);
  return new docker.Container(resourceName, { name: `vpai-${name}`, image: imageName(image), ...settings, ...extra }, { provider });
}

container("vpai-main-worker", "worker", { repository: "busybox", tag: "1.36.1" }, violate ? { privileged: true } : {});

// PostgREST on a database outside the platform; its connection string is a
// Pulumi secret, which the pack sees resolved.
const user = violate ? "postgres" : "authenticator";
container(
  "vpai-main-rest",
  "rest",
  { repository: "postgrest/postgrest", tag: "v12.2.3" },
  { envs: pulumi.secret([`PGRST_DB_URI=postgres://${user}:not-a-real-password@db.internal:5432/app`]) },
);
