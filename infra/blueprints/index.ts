import type { BlueprintCatalog } from "../config/validate";
import type { Blueprint } from "./blueprint";
import { aiVideo } from "./ai-video";
import { fastapi } from "./fastapi";
import { galion } from "./galion";
import { nextmavens } from "./nextmavens";
import { vpai } from "./vpai";

/** Every blueprint, by the name `infra:blueprint` selects it with. */
export const BLUEPRINTS: Readonly<Record<string, Blueprint>> = { vpai, "ai-video": aiVideo, fastapi, nextmavens, galion };

export function blueprintNamed(name: string): Blueprint {
  const blueprint = BLUEPRINTS[name];
  if (!blueprint) throw new Error(`unknown blueprint "${name}" (one of ${Object.keys(BLUEPRINTS).join(", ")})`);
  return blueprint;
}

export const BLUEPRINT_CATALOG: BlueprintCatalog = {
  names: Object.keys(BLUEPRINTS),
  secretsOf: (name) => BLUEPRINTS[name]?.secrets ?? [],
  rolesOf: (name) => BLUEPRINTS[name]?.roles ?? [],
};
