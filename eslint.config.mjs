// `npm run lint`: typescript-eslint's recommended rules on every TypeScript
// file of the program, its tools and its tests. Formatting is Prettier's
// (`npm run format:check`), so no stylistic rule is enabled here. The
// type-aware rules are not: they need the whole program's types, which
// would make lint take as long as tsc, and `tsc --noEmit` runs anyway.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "tools/testbed/images/rootfs/**", ".plan-cache/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A name that starts with "_" is left out on purpose: a field dropped
      // from a copy (`{ elapsedMs: _elapsed, ...rest }`), or a parameter a
      // signature requires. tsc's noUnusedLocals and noUnusedParameters
      // check the rest.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
  {
    // Dynamic providers: Pulumi serializes their functions into the stack's
    // state, capturing what they close over. A module they need is loaded
    // inside the function with require(), so it is not captured by value.
    files: [
      "components/compute/ssh-host-key.ts",
      "components/remote/ssh-command.ts",
      "components/storage/bucket-provider.ts",
      "components/vpn/wireguard-key.ts",
      "tests/engine/project/local-command.ts",
    ],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Finding control characters is what this file is for (config values
    // that would break a generated file or a log line).
    files: ["infra/config/control-characters.ts"],
    rules: { "no-control-regex": "off" },
  },
);
