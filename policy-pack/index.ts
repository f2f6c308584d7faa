import { PolicyPack } from "@pulumi/policy";
import { CHECKLIST_POLICIES } from "./policies";

// Serves the pack to the Pulumi engine (see PulumiPolicy.yaml).
new PolicyPack("infra-checklist", { policies: CHECKLIST_POLICIES });
