import { loadStackConfig } from "./config/load";
import { deployPlatform } from "./platform";

// The whole program: read and validate the stack config (nothing is
// registered if it is wrong), then compose the blueprint it selects.
const { outputs } = deployPlatform(loadStackConfig());

export = outputs;
