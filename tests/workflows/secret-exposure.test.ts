import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { secretExposureProblems, triggers, type Workflow, type Workflows } from "./secret-exposure";

// R4: code from a pull request never obtains prod secrets, and prod deploys
// only from the protected environment. First the repository's own workflows,
// then each way a pull request could reach a prod secret, spelt as an
// attacker (or a hurried maintainer) would.

const WORKFLOWS = resolve(__dirname, "..", "..", ".github", "workflows");

function repositoryWorkflows(): Record<string, Workflow> {
  return Object.fromEntries(
    readdirSync(WORKFLOWS)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => [name, parse(readFileSync(join(WORKFLOWS, name), "utf8")) as Workflow]),
  );
}

/** A workflow with one job, started by `on`, from YAML text (the job's own lines, indented by four). */
function oneJob(on: string, job: string, extra = ""): Workflow {
  return parse(`on: ${on}\n${extra}jobs:\n  job:\n    runs-on: ubuntu-24.04\n${job}`) as Workflow;
}

const run = (expression: string) => `    steps:\n      - run: echo "$X"\n        env:\n          X: \${{ ${expression} }}\n`;

describe("the repository's workflows", () => {
  test("no job started by a pull request reads a prod secret, and the prod passphrase stays in production", () => {
    const workflows = repositoryWorkflows();
    expect(Object.keys(workflows)).toEqual(expect.arrayContaining(["deploy.yml", "pull-request.yml", "pulumi-up.yml"]));
    expect(secretExposureProblems(workflows)).toEqual([]);
  });

  test("the check reads pulumi-up.yml through deploy.yml: prod's call does read the prod passphrase, in production", () => {
    const workflows = repositoryWorkflows();
    const deploy = workflows["deploy.yml"]!;
    const prodInPreprod = { ...deploy, jobs: { ...deploy.jobs, prod: { ...deploy.jobs!.prod!, with: { stack: "prod", environment: "preprod" } } } };
    expect(secretExposureProblems({ ...workflows, "deploy.yml": prodInPreprod })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^R4 deploy\.yml jobs\.prod -> pulumi-up\.yml jobs\.up: reads PROD_PULUMI_CONFIG_PASSPHRASE in environment preprod;/),
      ]),
    );
  });

  test("pull-request.yml calling the deploy of prod is caught, with inherit or without", () => {
    const workflows = repositoryWorkflows();
    const pullRequest = workflows["pull-request.yml"]!;
    for (const secrets of ["inherit", undefined]) {
      const sneaky = { uses: "./.github/workflows/pulumi-up.yml", with: { stack: "prod", environment: "production" }, ...(secrets ? { secrets } : {}) };
      const problems = secretExposureProblems({ ...workflows, "pull-request.yml": { ...pullRequest, jobs: { ...pullRequest.jobs, sneaky } } });
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /pull-request\.yml jobs\.sneaky -> pulumi-up\.yml jobs\.up: reads secret PROD_PULUMI_CONFIG_PASSPHRASE, but a job started by pull_request may read only PREPROD_\* secrets/,
          ),
          expect.stringMatching(/pull-request\.yml jobs\.sneaky -> pulumi-up\.yml jobs\.up: runs in the production environment, started by pull_request/),
        ]),
      );
      if (secrets) expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/jobs\.sneaky: passes every secret on with "secrets: inherit"/)]));
    }
  });
});

describe("each way a pull request could reach a prod secret", () => {
  const cases: { name: string; workflows: Workflows; problems: RegExp[] }[] = [
    {
      name: "the previous pull-request.yml: prod previewed with the one passphrase of the repository",
      workflows: {
        "pr.yml": oneJob(
          "pull_request",
          "    strategy:\n      matrix:\n        stack: [preprod, prod]\n    steps:\n      - uses: pulumi/actions@v6\n        with:\n          command: preview\n          stack-name: ${{ matrix.stack }}\n        env:\n          PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}\n",
        ),
      },
      problems: [/^R4 pr\.yml jobs\.job: reads secret PULUMI_CONFIG_PASSPHRASE, but a job started by pull_request may read only PREPROD_\* secrets$/],
    },
    { name: "secrets.PROD_*", workflows: { "pr.yml": oneJob("pull_request", run("secrets.PROD_HCLOUD_TOKEN")) }, problems: [/reads secret PROD_HCLOUD_TOKEN/] },
    {
      name: "secrets['PROD_*']",
      workflows: { "pr.yml": oneJob("pull_request", run("secrets['PROD_HCLOUD_TOKEN']")) },
      problems: [/reads secret PROD_HCLOUD_TOKEN/],
    },
    {
      name: "Secrets [ 'prod_…' ]: other case, spaces",
      workflows: { "pr.yml": oneJob("pull_request", run("Secrets [ 'prod_hcloud_token' ]")) },
      problems: [/reads secret PROD_HCLOUD_TOKEN/],
    },
    {
      name: "the prod passphrase by name, in a job with no environment",
      workflows: { "pr.yml": oneJob("[push, pull_request]", run("secrets.prod_pulumi_config_passphrase")) },
      problems: [/reads secret PROD_PULUMI_CONFIG_PASSPHRASE, but/, /reads PROD_PULUMI_CONFIG_PASSPHRASE in no environment/],
    },
    {
      name: "toJSON(secrets)",
      workflows: { "pr.yml": oneJob("pull_request", run("toJSON(secrets)")) },
      problems: [/reads the secrets context through "toJSON\(secrets\)", which can reach any secret/],
    },
    {
      name: "fromJSON(toJSON(secrets)).PROD_*",
      workflows: { "pr.yml": oneJob("pull_request", run("fromJSON(toJSON(secrets)).PROD_HCLOUD_TOKEN")) },
      problems: [/reads the secrets context through/],
    },
    {
      name: "secrets.* (every value)",
      workflows: { "pr.yml": oneJob("pull_request", run("join(secrets.*, ',')")) },
      problems: [/reads the secrets context through/],
    },
    {
      name: "secrets[format(...)] of constants",
      workflows: { "pr.yml": oneJob("pull_request", run("secrets[format('{0}_PULUMI_CONFIG_{1}', 'PROD', 'PASSPHRASE')]")) },
      problems: [/reads secret PROD_PULUMI_CONFIG_PASSPHRASE, but/],
    },
    {
      name: "secrets[format(...)] of the branch name",
      workflows: { "pr.yml": oneJob("pull_request", run("secrets[format('{0}_HCLOUD_TOKEN', github.head_ref)]")) },
      problems: [/reads the secrets context through "secrets\[format\('\{0\}_HCLOUD_TOKEN', github\.head_ref\)\]"/],
    },
    {
      name: "secrets[matrix.*]",
      workflows: { "pr.yml": oneJob("pull_request", `    strategy:\n      matrix:\n        name: [PROD_HCLOUD_TOKEN]\n${run("secrets[matrix.name]")}`) },
      problems: [/reads the secrets context through "secrets\[matrix\.name\]"/],
    },
    {
      name: "env indirection: the workflow's env holds the secret, the job reads env",
      workflows: { "pr.yml": oneJob("pull_request", run("env.TOKEN"), "env:\n  TOKEN: ${{ secrets.PROD_HCLOUD_TOKEN }}\n") },
      problems: [/reads secret PROD_HCLOUD_TOKEN/],
    },
    {
      name: "env indirection: a name in env, the secret looked up by it",
      workflows: { "pr.yml": oneJob("pull_request", run("secrets[env.NAME]"), "env:\n  NAME: PROD_HCLOUD_TOKEN\n") },
      problems: [/reads the secrets context through "secrets\[env\.NAME\]"/],
    },
    {
      name: "a step's condition",
      workflows: { "pr.yml": oneJob("pull_request", "    steps:\n      - if: secrets.PROD_HCLOUD_TOKEN != ''\n        run: echo set\n") },
      problems: [/reads secret PROD_HCLOUD_TOKEN/],
    },
    {
      name: "the production environment, by name",
      workflows: { "pr.yml": oneJob("pull_request", "    environment: production\n    steps:\n      - run: echo hi\n") },
      problems: [/runs in the production environment, started by pull_request$/],
    },
    {
      name: "the production environment, as { name, url } and spelt otherwise",
      workflows: {
        "pr.yml": oneJob(
          "pull_request",
          "    environment:\n      name: ${{ 'Production' }}\n      url: https://example.com\n    steps:\n      - run: echo hi\n",
        ),
      },
      problems: [/runs in the production environment/],
    },
    {
      name: "an environment that is not a constant",
      workflows: { "pr.yml": oneJob("pull_request", "    environment: ${{ github.head_ref }}\n    steps:\n      - run: echo hi\n") },
      problems: [/runs in environment "\$\{\{ github\.head_ref \}\}", which may be production/],
    },
    {
      name: "a reusable workflow with secrets: inherit, reading prod secrets by name",
      workflows: {
        "pr.yml": oneJob("pull_request", "    uses: ./.github/workflows/called.yml\n    secrets: inherit\n".replace("    runs-on: ubuntu-24.04\n", "")),
        "called.yml": parse(
          'on: workflow_call\njobs:\n  inner:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo "$T"\n        env:\n          T: ${{ secrets.PROD_CLOUDFLARE_API_TOKEN }}\n',
        ),
      },
      problems: [
        /pr\.yml jobs\.job: passes every secret on with "secrets: inherit"/,
        /pr\.yml jobs\.job -> called\.yml jobs\.inner: reads secret PROD_CLOUDFLARE_API_TOKEN/,
      ],
    },
    {
      name: "a reusable workflow given a prod secret by name",
      workflows: {
        "pr.yml": parse(
          "on: pull_request\njobs:\n  job:\n    uses: ./.github/workflows/called.yml\n    secrets:\n      token: ${{ secrets.PROD_CLOUDFLARE_API_TOKEN }}\n",
        ),
        "called.yml": parse(
          "on:\n  workflow_call:\n    secrets:\n      token:\n        required: true\njobs:\n  inner:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo hi\n",
        ),
      },
      problems: [/pr\.yml jobs\.job: reads secret PROD_CLOUDFLARE_API_TOKEN/],
    },
    {
      name: "a reusable workflow whose environment and secret names come from the caller's inputs",
      workflows: {
        "pr.yml": parse(
          "on: pull_request\njobs:\n  job:\n    uses: ./.github/workflows/called.yml\n    with:\n      stack: prod\n      environment: production\n",
        ),
        "called.yml": parse(
          "on:\n  workflow_call:\n    inputs:\n      stack: { type: string }\n      environment: { type: string }\njobs:\n  inner:\n    runs-on: ubuntu-24.04\n    environment: ${{ inputs.environment }}\n    steps:\n      - run: echo hi\n        env:\n          P: ${{ secrets[format('{0}_PULUMI_CONFIG_PASSPHRASE', inputs.stack)] }}\n",
        ),
      },
      problems: [
        /-> called\.yml jobs\.inner: reads secret PROD_PULUMI_CONFIG_PASSPHRASE, but/,
        /-> called\.yml jobs\.inner: runs in the production environment/,
      ],
    },
    {
      name: "a reusable workflow in another repository",
      workflows: { "pr.yml": parse("on: pull_request\njobs:\n  job:\n    uses: someone/workflows/.github/workflows/deploy.yml@v1\n") },
      problems: [/calls someone\/workflows\/\.github\/workflows\/deploy\.yml@v1, a workflow this check cannot read/],
    },
    {
      name: "pull_request_target checking out the pull request's head",
      workflows: {
        "prt.yml": oneJob(
          "{ pull_request_target: { types: [opened] } }",
          "    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n",
        ),
      },
      problems: [
        /checks out the pull request's code \(actions\/checkout with ref: \$\{\{ github\.event\.pull_request\.head\.sha \}\}\) in a pull_request_target job/,
      ],
    },
    {
      name: "pull_request_target fetching the pull request's head with git or gh",
      workflows: {
        "prt.yml": oneJob(
          "pull_request_target",
          '    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          git fetch origin "pull/$NUMBER/head"\n          gh pr checkout "$NUMBER"\n',
        ),
      },
      problems: [/checks out the pull request's code \(run: git fetch origin "pull\/\$NUMBER\/head"\)/],
    },
    {
      name: "a push job reading the prod passphrase outside production",
      workflows: { "deploy.yml": oneJob("push", `    environment: preprod\n${run("secrets.PROD_PULUMI_CONFIG_PASSPHRASE")}`) },
      problems: [
        /^R4 deploy\.yml jobs\.job: reads PROD_PULUMI_CONFIG_PASSPHRASE in environment preprod; the prod passphrase belongs to jobs with environment: production$/,
      ],
    },
    {
      name: "a push job reading the secrets context whole, outside production",
      workflows: { "deploy.yml": oneJob("push", run("toJSON(secrets)")) },
      problems: [/reads the secrets context through "toJSON\(secrets\)" in no environment/],
    },
  ];

  test.each(cases)("$name", ({ workflows, problems }) => {
    const found = secretExposureProblems(workflows);
    expect(found.length).toBeGreaterThanOrEqual(problems.length);
    for (const problem of problems) expect(found).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});

describe("what is allowed", () => {
  const cases: { name: string; workflows: Workflows }[] = [
    {
      name: "a pull request reading PREPROD_* secrets and the token",
      workflows: { "pr.yml": oneJob("pull_request", run("format('{0}{1}', secrets.PREPROD_HCLOUD_TOKEN, secrets.GITHUB_TOKEN)")) },
    },
    { name: "a pull request naming the secrets context in a string", workflows: { "pr.yml": oneJob("pull_request", run("'secrets.PROD_HCLOUD_TOKEN'")) } },
    {
      name: "a pull request's property that happens to be called secrets",
      workflows: { "pr.yml": oneJob("pull_request", run("github.event.secrets.PROD_X")) },
    },
    {
      name: "pull_request_target checking out the base branch",
      workflows: { "prt.yml": oneJob("pull_request_target", "    steps:\n      - uses: actions/checkout@v4\n") },
    },
    {
      name: "a push job with the prod passphrase in production",
      workflows: { "deploy.yml": oneJob("push", `    environment: production\n${run("secrets.PROD_PULUMI_CONFIG_PASSPHRASE")}`) },
    },
    {
      name: "a reusable workflow on its own: judged only where it is called",
      workflows: { "called.yml": oneJob("workflow_call", run("secrets[format('{0}_X', inputs.stack)]")) },
    },
  ];

  test.each(cases)("$name", ({ workflows }) => {
    expect(secretExposureProblems(workflows)).toEqual([]);
  });
});

test.each([
  ["pull_request", ["pull_request"]],
  [
    ["push", "pull_request_target"],
    ["push", "pull_request_target"],
  ],
  [{ pull_request: { branches: ["main"] }, workflow_dispatch: null }, ["pull_request", "workflow_dispatch"]],
  [undefined, []],
] as const)("triggers of %j", (on, expected) => {
  expect(triggers(on)).toEqual(expected);
});
