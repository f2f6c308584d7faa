interface PreviewStep {
  op: string;
  urn: string;
}

/** The non-"same" steps of `pulumi preview --json`, as "op name" strings, sorted. */
export function plannedChanges(previewJson: string): string[] {
  const preview = JSON.parse(previewJson) as { steps?: PreviewStep[] };
  return (preview.steps ?? [])
    .filter((step) => step.op !== "same")
    .map((step) => `${step.op} ${step.urn.split("::").pop()}`)
    .sort();
}
