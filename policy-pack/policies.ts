import type { Policies, ResourceValidationArgs, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { resourceViolations, stackModel, stackOfUrn, stackViolations, violationText } from "./checklist";

/**
 * The pack's two policies: every resource on its resolved inputs, and the
 * whole stack. Both are mandatory: a violation stops `pulumi preview` and
 * `pulumi up`, as the program's own enforcement does.
 */
export const CHECKLIST_POLICIES: Policies = [
  {
    name: "checklist-resource",
    description: "Each resource follows the security checklist (C, F, CF, S, H rules) and the exposure rules (E) on its resolved inputs",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
      const model = stackModel(stackOfUrn(args.urn));
      for (const violation of resourceViolations(model, { type: args.type, name: args.name, props: args.props, protect: args.opts.protect }))
        reportViolation(violationText(violation));
    },
  },
  {
    name: "checklist-stack",
    description:
      "The stack as a whole follows the security checklist and the exposure rules: the platform model, zone settings together, each host's firewall, what the ingress serves",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
      const first = args.resources[0];
      if (!first) return;
      const model = stackModel(stackOfUrn(first.urn));
      const resources = args.resources.map((resource) => ({ type: resource.type, name: resource.name, props: resource.props, protect: resource.opts.protect }));
      for (const violation of stackViolations(model, resources)) reportViolation(violationText(violation));
    },
  },
];
