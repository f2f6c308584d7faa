import * as pulumi from "@pulumi/pulumi";
import { registerTree } from "./tree";

// step 1 registers the tree as stacks deployed before the move hold it,
// step 2 the tree the program registers now; aliases=false drops the aliases
// of the components that moved, which must make the engine replace them.
const config = new pulumi.Config();
const step = config.requireNumber("step");
if (step !== 1 && step !== 2) throw new Error(`infra-tree-move-test:step must be 1 or 2, not ${step}`);

registerTree({ step: step === 1 ? 1 : 2, aliases: config.getBoolean("aliases") ?? true, logFile: config.require("logFile") });
