import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { requireTool } from "../support/tools";
import { mirroredReference, type Registry } from "./registry";
import { DOCKER } from "./vps";

const REPO = resolve(__dirname, "../..");

/** A testbed image: the reference the program deploys, and the local image that stands for it. */
export interface TestbedImage {
  readonly reference: string;
  readonly local: string;
}

/** Builds the testbed images if their recipe changed (tools/testbed/images/build.sh) and lists them. */
export function testbedImages(): TestbedImage[] {
  requireTool("mmdebstrap");
  execFileSync("bash", [join(REPO, "tools/testbed/docker-engine.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  const listing = execFileSync("bash", [join(REPO, "tools/testbed/images/build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return listing
    .trim()
    .split("\n")
    .map((line) => {
      const [reference, local] = line.split(" ") as [string, string];
      return { reference, local };
    });
}

/** Pushes every testbed image to `registry` at its mirrored path; the first push uploads the one shared layer, the others find it there. */
export async function pushImages(registry: Registry, images: readonly TestbedImage[]): Promise<void> {
  const path = (image: TestbedImage) => mirroredReference(registry.host, image.reference).slice(registry.host.length + 1);
  const [first, ...rest] = images;
  await registry.push(first!.local, path(first!));
  await Promise.all(rest.map((image) => registry.push(image.local, path(image))));
}

/**
 * Another release of a testbed image: `base` with the environment `env` on
 * top, tagged `tag` at the same repository and pushed to `registry`; returns
 * the reference the program deploys. Built by the engine from a Dockerfile
 * on stdin, so it costs one metadata layer.
 */
export async function pushRelease(registry: Registry, base: TestbedImage, tag: string, env: Readonly<Record<string, string>>): Promise<string> {
  const reference = `${base.reference.slice(0, base.reference.lastIndexOf(":"))}:${tag}`;
  const local = `${base.local.slice(0, base.local.lastIndexOf(":"))}:${tag}`;
  const dockerfile = [`FROM ${base.local}`, ...Object.entries(env).map(([key, value]) => `ENV ${key}=${JSON.stringify(value)}`), ""].join("\n");
  execFileSync(DOCKER, ["build", "--quiet", "--tag", local, "-"], { input: dockerfile, stdio: ["pipe", "ignore", "inherit"] });
  await registry.push(local, mirroredReference(registry.host, reference).slice(registry.host.length + 1));
  return reference;
}
