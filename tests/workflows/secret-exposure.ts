// R4 on GitHub workflows: code from a pull request never obtains a prod
// secret, and the prod passphrase is used only inside the protected
// `production` environment.
//
// Secrets are named for their stack (docs/delivery.md): PROD_* live only in the
// `production` environment, PREPROD_* are the only ones a pull request may
// read. GitHub ignores case in secret and context names, so this does too.
//
// What a job can read is judged from every expression in it, in the
// workflow's `env` and in the reusable workflows it calls, as GitHub would
// resolve them: `secrets.NAME`, `secrets['NAME']`, a `format()` of constants,
// and a called workflow's `inputs.*` replaced by what the caller passes. Any
// other use of the secrets context (`toJSON(secrets)`, `secrets[env.X]`,
// `secrets[format(...)]` of something unknown) may reach any secret, so it
// counts as reading a prod one. Env indirection needs no rule of its own: a
// value put in `env` comes from an expression that is judged where it is.
//
// This is a tripwire for mistakes in this repository. What keeps a pull
// request out of the production environment is GitHub itself: the
// environment's deployment branch rule (main only), set as docs/delivery.md says.

/** The events whose jobs run code from a pull request with the repository's secrets. */
const PULL_REQUEST_EVENTS = ["pull_request", "pull_request_target"] as const;

/** The secrets a job started by a pull request may read. */
const PULL_REQUEST_SECRET = /^(PREPROD_[A-Z0-9_]+|GITHUB_TOKEN)$/;
const PROD_PASSPHRASE = "PROD_PULUMI_CONFIG_PASSPHRASE";
const PRODUCTION = "production";
/** GitHub allows four levels of reusable workflows. */
const MAX_DEPTH = 4;

export interface Workflow {
  readonly on?: unknown;
  readonly env?: unknown;
  readonly jobs?: Record<string, Job>;
}

export interface Job {
  readonly environment?: unknown;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly secrets?: unknown;
  readonly steps?: readonly Step[];
  readonly [key: string]: unknown;
}

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** The workflows of one repository, by file name ("deploy.yml"), as parsed from YAML. */
export type Workflows = Readonly<Record<string, Workflow>>;

interface JobContext {
  readonly workflows: Workflows;
  readonly file: string;
  readonly workflow: Workflow;
  /** "pull-request.yml jobs.preview", then "-> pulumi-up.yml jobs.up" for each call. */
  readonly where: string;
  /** The caller's inputs, when this workflow was called; a value is undefined when it is not a constant. */
  readonly inputs: ReadonlyMap<string, string | undefined>;
  /** The pull request events that start this job, or none. */
  readonly pullRequestEvents: readonly string[];
  readonly depth: number;
}

/**
 * Every R4 problem in `workflows`, one line each, naming the file, the job
 * and how the secret or the environment is reached. Empty when there is none.
 */
export function secretExposureProblems(workflows: Workflows): string[] {
  const problems: string[] = [];
  for (const [file, workflow] of Object.entries(workflows)) {
    const events = triggers(workflow.on);
    // A reusable workflow is judged where it is called, with its caller's inputs.
    if (events.length === 0 || events.every((event) => event === "workflow_call")) continue;
    const pullRequestEvents = events.filter((event) => (PULL_REQUEST_EVENTS as readonly string[]).includes(event));
    for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
      problems.push(...jobProblems(job, { workflows, file, workflow, where: `${file} jobs.${id}`, inputs: new Map(), pullRequestEvents, depth: 1 }));
    }
  }
  return problems;
}

function jobProblems(job: Job, context: JobContext): string[] {
  const problems: string[] = [];
  const say = (problem: string) => problems.push(`R4 ${context.where}: ${problem}`);
  const reads = secretsRead([...expressionsOf(context.workflow.env), ...expressionsOf(job)], context.inputs);
  const environment = environmentOf(job.environment, context.inputs);
  const fromPullRequest = context.pullRequestEvents.length > 0;

  if (fromPullRequest) {
    const started = `started by ${context.pullRequestEvents.join(", ")}`;
    for (const name of reads.names) if (!PULL_REQUEST_SECRET.test(name)) say(`reads secret ${name}, but a job ${started} may read only PREPROD_* secrets`);
    for (const expression of reads.unresolved)
      say(`reads the secrets context through "${expression}", which can reach any secret, prod ones included (${started})`);
    if (environment.kind === "named" && environment.name === PRODUCTION) say(`runs in the production environment, ${started}`);
    if (environment.kind === "unresolved") say(`runs in environment "${environment.text}", which may be production (${started})`);
    if (job.secrets === "inherit") say(`passes every secret on with "secrets: inherit" (${started}); pass the PREPROD_* ones it needs by name`);
    if (typeof job.uses === "string" && !job.uses.startsWith("./")) say(`calls ${job.uses}, a workflow this check cannot read (${started})`);
    if (context.pullRequestEvents.includes("pull_request_target"))
      for (const step of job.steps ?? []) {
        const checkout = checksOutPullRequestHead(step);
        if (checkout)
          say(`checks out the pull request's code (${checkout}) in a pull_request_target job, which runs with the base repository's secrets and token`);
      }
  }

  const maybePassphrase = reads.names.includes(PROD_PASSPHRASE) || reads.unresolved.length > 0;
  if (maybePassphrase && !(environment.kind === "named" && environment.name === PRODUCTION)) {
    const what = reads.names.includes(PROD_PASSPHRASE) ? PROD_PASSPHRASE : `the secrets context through "${reads.unresolved[0]}"`;
    const where =
      environment.kind === "none" ? "no environment" : environment.kind === "named" ? `environment ${environment.name}` : `environment "${environment.text}"`;
    if (!fromPullRequest || reads.names.includes(PROD_PASSPHRASE))
      say(`reads ${what} in ${where}; the prod passphrase belongs to jobs with environment: production`);
  }

  if (typeof job.uses === "string" && job.uses.startsWith("./")) problems.push(...calledWorkflowProblems(job, job.uses, context));
  return problems;
}

/** The jobs of a workflow in this repository that `job` calls, judged with the inputs it passes. */
function calledWorkflowProblems(job: Job, uses: string, context: JobContext): string[] {
  const file = uses.replace(/@.*$/, "").split("/").pop()!;
  const called = context.workflows[file];
  if (!called) return [`R4 ${context.where}: calls ${uses}, which is not among the workflows given`];
  if (context.depth >= MAX_DEPTH) return [`R4 ${context.where}: calls ${uses} deeper than GitHub allows`];
  const inputs = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(job.with ?? {})) inputs.set(name.toLowerCase(), constantValue(value, context.inputs));
  return Object.entries(called.jobs ?? {}).flatMap(([id, calledJob]) =>
    jobProblems(calledJob, { ...context, file, workflow: called, where: `${context.where} -> ${file} jobs.${id}`, inputs, depth: context.depth + 1 }),
  );
}

/** The event names in a workflow's `on`, whichever of its three forms it takes. */
export function triggers(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.filter((event): event is string => typeof event === "string");
  if (on && typeof on === "object") return Object.keys(on);
  return [];
}

/**
 * Every expression in a value: the `${{ }}` parts of its strings, and the
 * `if:` conditions, which GitHub evaluates without the braces.
 */
function expressionsOf(value: unknown, key?: string): string[] {
  if (typeof value === "string") {
    const wrapped = [...value.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((match) => match[1]!);
    return key === "if" && wrapped.length === 0 ? [value] : wrapped;
  }
  if (typeof value === "boolean" || typeof value === "number") return [];
  if (Array.isArray(value)) return value.flatMap((item) => expressionsOf(item));
  // Keys too: nothing should hide an expression where GitHub might read one.
  if (value && typeof value === "object") return Object.entries(value).flatMap(([name, item]) => [...expressionsOf(name), ...expressionsOf(item, name)]);
  return [];
}

interface SecretsRead {
  /** Secret names read by name, upper case. */
  readonly names: string[];
  /** Expressions that use the secrets context in a way whose name is not a constant. */
  readonly unresolved: string[];
}

function secretsRead(expressions: readonly string[], inputs: ReadonlyMap<string, string | undefined>): SecretsRead {
  const names = new Set<string>();
  const unresolved: string[] = [];
  for (const expression of expressions) {
    const tokens = foldFormat(substituteInputs(tokenize(expression), inputs));
    for (let index = 0; index < tokens.length; index++) {
      const token = tokens[index]!;
      if (token.kind !== "name" || token.text.toLowerCase() !== "secrets" || tokens[index - 1]?.text === ".") continue;
      const [next, name, close] = [tokens[index + 1], tokens[index + 2], tokens[index + 3]];
      if (next?.text === "." && name?.kind === "name") names.add(name.text.toUpperCase());
      else if (next?.text === "[" && name?.kind === "string" && close?.text === "]") names.add(name.text.toUpperCase());
      else unresolved.push(expression.trim());
    }
  }
  return { names: [...names].sort(), unresolved: [...new Set(unresolved)] };
}

type Environment = { kind: "none" } | { kind: "named"; name: string } | { kind: "unresolved"; text: string };

/** The environment a job runs in, as GitHub names it (`environment: name` or `environment: { name }`). */
function environmentOf(value: unknown, inputs: ReadonlyMap<string, string | undefined>): Environment {
  const raw = value && typeof value === "object" && !Array.isArray(value) ? (value as { name?: unknown }).name : value;
  if (raw === undefined || raw === null || raw === "") return { kind: "none" };
  const name = constantValue(raw, inputs);
  return name === undefined ? { kind: "unresolved", text: String(raw) } : { kind: "named", name: name.toLowerCase() };
}

/** A YAML value as GitHub would resolve it, when that needs nothing but constants and known inputs. */
function constantValue(value: unknown, inputs: ReadonlyMap<string, string | undefined>): string | undefined {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "string") return undefined;
  let known = true;
  const text = value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_whole, expression: string) => {
    const tokens = foldFormat(substituteInputs(tokenize(expression), inputs));
    if (tokens.length === 1 && tokens[0]!.kind === "string") return tokens[0]!.text;
    known = false;
    return "";
  });
  return known ? text : undefined;
}

/** Does this step put the pull request's own code on the runner? How, if so. */
function checksOutPullRequestHead(step: Step): string | undefined {
  const headRef = /pull_request\.head\.|github\.head_ref|refs\/pull\/|merge_commit_sha|pull_request\.number|github\.event\.number/i;
  if (typeof step.uses === "string" && /^actions\/checkout@/i.test(step.uses)) {
    for (const key of ["ref", "repository"]) {
      const value = step.with?.[key];
      if (typeof value === "string" && headRef.test(value)) return `actions/checkout with ${key}: ${value}`;
    }
  }
  if (typeof step.run === "string") {
    const line = step.run
      .split("\n")
      .find(
        (text) =>
          /\bgh\s+pr\s+checkout\b/.test(text) || (/\bgit\s+(fetch|checkout|pull|switch)\b/.test(text) && (headRef.test(text) || /\bpull\/\S+/.test(text))),
      );
    if (line) return `run: ${line.trim()}`;
  }
  return undefined;
}

// A small reader of GitHub expressions: enough to find the secrets context,
// substitute inputs, and fold format() of constants.

interface Token {
  readonly kind: "string" | "name" | "number" | "punct";
  readonly text: string;
}

export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < expression.length) {
    const char = expression[index]!;
    if (/\s/.test(char)) {
      index++;
    } else if (char === "'" || char === '"') {
      // GitHub quotes with ' and doubles it inside; " is not GitHub's, but reading it costs nothing.
      let text = "";
      index++;
      while (index < expression.length) {
        if (expression[index] === char && expression[index + 1] === char) {
          text += char;
          index += 2;
        } else if (expression[index] === char) {
          index++;
          break;
        } else text += expression[index++];
      }
      tokens.push({ kind: "string", text });
    } else if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(expression.slice(index))![0];
      tokens.push({ kind: "name", text: match });
      index += match.length;
    } else if (/[0-9]/.test(char)) {
      const match = /^[0-9][0-9a-fA-FxX.eE+-]*/.exec(expression.slice(index))![0];
      tokens.push({ kind: "number", text: match });
      index += match.length;
    } else {
      const two = expression.slice(index, index + 2);
      const text = ["==", "!=", "<=", ">=", "&&", "||"].includes(two) ? two : char;
      tokens.push({ kind: "punct", text });
      index += text.length;
    }
  }
  return tokens;
}

/** `inputs.NAME` and `inputs['NAME']` replaced by the constant the caller passes, where it passes one. */
function substituteInputs(tokens: readonly Token[], inputs: ReadonlyMap<string, string | undefined>): Token[] {
  const out: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const [next, name, close] = [tokens[index + 1], tokens[index + 2], tokens[index + 3]];
    if (token.kind === "name" && token.text.toLowerCase() === "inputs" && tokens[index - 1]?.text !== ".") {
      const dotted = next?.text === "." && name?.kind === "name";
      const indexed = next?.text === "[" && name?.kind === "string" && close?.text === "]";
      const value = dotted || indexed ? inputs.get(name!.text.toLowerCase()) : undefined;
      if (value !== undefined) {
        out.push({ kind: "string", text: value });
        index += dotted ? 2 : 3;
        continue;
      }
    }
    out.push(token);
  }
  return out;
}

/** `format('{0}_X', 'prod')` with constant arguments replaced by its result, innermost first. */
function foldFormat(tokens: readonly Token[]): Token[] {
  let current = [...tokens];
  for (;;) {
    let folded = false;
    for (let index = 0; index < current.length && !folded; index++) {
      if (current[index]!.kind !== "name" || current[index]!.text.toLowerCase() !== "format" || current[index + 1]?.text !== "(") continue;
      const args: string[] = [];
      let cursor = index + 2;
      let constant = true;
      while (cursor < current.length) {
        const argument = current[cursor]!;
        if (argument.kind !== "string") {
          constant = false;
          break;
        }
        args.push(argument.text);
        const after = current[cursor + 1];
        if (after?.text === ")") break;
        if (after?.text !== ",") {
          constant = false;
          break;
        }
        cursor += 2;
      }
      if (!constant || current[cursor + 1]?.text !== ")" || args.length === 0) continue;
      const [template, ...values] = args;
      const text = template!.replace(/\{\{|\}\}|\{(\d+)\}/g, (whole, position?: string) =>
        whole === "{{" ? "{" : whole === "}}" ? "}" : (values[Number(position)] ?? whole),
      );
      current = [...current.slice(0, index), { kind: "string", text }, ...current.slice(cursor + 2)];
      folded = true;
    }
    if (!folded) return current;
  }
}
