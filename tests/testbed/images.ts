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
  /** The hash of the recipe it was built from (build.sh's label), when it was listed. */
  readonly recipe?: string;
}

/** Builds the testbed images if their recipe changed (tools/testbed/images/build.sh) and lists them. */
export function testbedImages(): TestbedImage[] {
  requireTool("mmdebstrap");
  execFileSync("bash", [join(REPO, "tools/testbed/docker-engine.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  const listing = execFileSync("bash", [join(REPO, "tools/testbed/images/build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const images = listing
    .trim()
    .split("\n")
    .map((line) => {
      const [reference, local] = line.split(" ") as [string, string];
      return { reference, local };
    });
  const recipes = recipesOf(images);
  if (recipes.length !== 1)
    throw new Error(
      `testbed images: built from ${recipes.length} recipes (${recipes.join(", ")}): another checkout's build retagged them; run again when no other testbed builds`,
    );
  return images.map((image) => ({ ...image, recipe: recipes[0] }));
}

/** The recipe label of each local image (build.sh labels every image it builds with its recipe's hash). */
function recipesOf(images: readonly TestbedImage[]): string[] {
  const labels = execFileSync(
    DOCKER,
    ["image", "inspect", "--format", '{{index .Config.Labels "infra-testbed.recipe"}}', ...images.map((image) => image.local)],
    { encoding: "utf8" },
  );
  return [...new Set(labels.trim().split("\n"))];
}

/**
 * Pushes every testbed image to `registry` at its mirrored path; the first
 * push uploads the one shared layer, the others find it there. The local
 * names are shared by every checkout on this machine's engine: a testbed of
 * another checkout, with other recipes, retags them when it builds. So the
 * images must carry one recipe before and after the push, or the run would
 * test another checkout's images; it stops and says so instead.
 */
export async function pushImages(registry: Registry, images: readonly TestbedImage[]): Promise<void> {
  const built = [...new Set(images.map((image) => image.recipe))];
  const before = recipesOf(images);
  const path = (image: TestbedImage) => mirroredReference(registry.host, image.reference).slice(registry.host.length + 1);
  const [first, ...rest] = images;
  await registry.push(first!.local, path(first!));
  await Promise.all(rest.map((image) => registry.push(image.local, path(image))));
  const after = recipesOf(images);
  if (JSON.stringify(before) !== JSON.stringify(built) || JSON.stringify(after) !== JSON.stringify(built)) {
    throw new Error(
      `testbed images: another checkout's build retagged them during this run (built from ${built.join(", ")}; ${before.join(", ")} before the push, ${after.join(", ")} after); run again when no other testbed builds`,
    );
  }
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
