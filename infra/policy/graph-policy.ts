import { liveFilesInstalled } from "../../components/container/live-config";
import { originReference } from "../../components/container/image-registry";
import { imageName } from "../../components/container/service-spec";
import { behindCloudflare } from "../config/schema";
import { SSHD_DROP_IN_PATH } from "../../components/compute/host-hardening";
import { FIREWALL_SCRIPT_PATH, readFilesOfScript, readPackagesOfScript, readUserData } from "../../components/compute/host-setup";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { hostFirewallOf, type PlatformModel } from "../platform-model";
import { viewOfContainerInputs, volumeFindings } from "./container-inputs";
import { containerFindings, imageProblems } from "./container-rules";
import { recordFindings, zoneFindings } from "./edge-rules";
import { hostFindings, pinnedKeyProblem, sshOptionsProblems, ufwAllowRules, ufwProblems, type SSHContext } from "./host-rules";
import { DEFAULT_SSH_PORT } from "../../components/compute/server-spec";
import { firewallFindings, inboundOfHetzner, openingFindings, type InboundRule } from "./network-rules";
import type { Finding, PolicyReport } from "./report";
import { expiryFindings, platformRetentionWindowDays } from "./storage-rules";
import { containerResource, exposureOf, ingressProxy, isProduction, modelWaivers, routedNames } from "./model-policy";
import { isDataApi, superuserFindings, type DataService } from "./data-api-rules";
import { routeFindings } from "./route-rules";
import { applyWaivers } from "./waivers";
import { beyondPlatform, publicPart, scriptVerdict } from "./host-command-rules";
import { containsUnresolved, MASKED, parseBool, UNKNOWN_SENTINEL } from "./input-values";
import { runsStdin, simpleCommands } from "./shell-commands";

/** A resource as registered: its type token, name and inputs (secrets already masked in a recorded graph). */
export interface GraphResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Pulumi's protect as registered, where known (a recorded graph); inherited from the parent, so not yet known to a transformation. */
  readonly protect?: boolean;
}

/** Resources that hold data: deleting one loses it, so a stack that is not disposable protects them (F4). */
const DATA_TYPES: readonly string[] = ["docker:index/volume:Volume", "hcloud:index/volume:Volume", "pulumi-nodejs:dynamic/storage:Bucket"];

const BUCKET_TYPES = ["infra:storage:Bucket", "pulumi-nodejs:dynamic/storage:Bucket"];

/** Types resourceFindings judges on their own (beyond these: @pulumi/command's commands and buckets of other providers, judged by type alone). */
export const JUDGED_TYPES: readonly string[] = [
  "docker:index/container:Container",
  "docker:index/volume:Volume",
  "docker:index/remoteImage:RemoteImage",
  "hcloud:index/firewall:Firewall",
  "hcloud:index/server:Server",
  "pulumi:providers:docker",
  SSH_COMMAND_TYPE,
  "cloudflare:index/dnsRecord:DnsRecord",
  "pulumi-nodejs:dynamic/storage:Bucket",
];

/**
 * The SSH port of the server a resource belongs to, by its name: every
 * resource of a host is named `<prefix>-<server>` or `<prefix>-<server>-...`
 * (the longest server name that fits wins). 22 for anything else.
 */
function sshPortOfResource(model: PlatformModel, name: string): number {
  const owners = model.hosts.filter((host) => {
    const base = host.resourceName;
    return name === base || name.startsWith(`${base}-`);
  });
  const owner = owners.sort((a, b) => b.server.name.length - a.server.name.length)[0];
  return owner?.sshPort ?? DEFAULT_SSH_PORT;
}

/** A string the rules can read: not the engine's placeholder for a value unknown during preview. */
const isString = (value: unknown): value is string => typeof value === "string" && value !== UNKNOWN_SENTINEL;

/**
 * The image reference a container names. Registered by the Service
 * component it is the RemoteImage's id, which is its reference under the
 * mock runtime but `sha256:<id>` in a real deployment; an id names no tag,
 * so C10 is judged on the RemoteImage's name instead.
 */
function imageReferenceOf(image: unknown, registryHost: string | undefined): string | undefined {
  if (!isString(image) || /^sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  return originReference(registryHost, image);
}

/**
 * The findings one registered resource shows on its own. Inputs that are not
 * resolved yet (Outputs while the program registers, unknowns in preview)
 * are skipped here and judged once resolved (enforce.ts, the policy pack at
 * `up`); a masked secret where a rule needs the value is a finding itself.
 */
export function resourceFindings(resource: GraphResource, model: PlatformModel): Finding[] {
  const dataFindings =
    resource.protect === false && DATA_TYPES.includes(resource.type) && isProduction(model)
      ? [{ rule: "F4", resource: `data ${resource.name}`, message: "holds data but is not protected, on a stack that is not disposable" }]
      : [];
  return [...dataFindings, ...ownFindings(resource, model)];
}

function ownFindings(resource: GraphResource, model: PlatformModel): Finding[] {
  const { inputs } = resource;
  const ssh = { adminCidrs: model.config.adminCidrs, sshPort: sshPortOfResource(model, resource.name) };
  const context = { ...ssh, behindCloudflare: behindCloudflare(model.config.dns) };
  switch (resource.type) {
    case "docker:index/container:Container": {
      const service = isString(inputs.name) ? serviceOf(model, inputs.name) : undefined;
      const image = imageReferenceOf(inputs.image, model.config.registry?.host) ?? service?.image;
      return [
        ...containerFindings(viewOfContainerInputs(inputs as Record<string, unknown>, image, service?.role, service?.name)),
        ...registeredDataApiFindings(inputs, image, model),
      ];
    }
    case "docker:index/volume:Volume":
      return volumeFindings(resource.name, inputs as Record<string, unknown>);
    case "docker:index/remoteImage:RemoteImage":
      return isString(inputs.name) ? imageProblems(inputs.name).map((message) => ({ rule: "C10", resource: `image ${resource.name}`, message })) : [];
    case "hcloud:index/firewall:Firewall": {
      const rules = (Array.isArray(inputs.rules) ? inputs.rules : [])
        .map((rule) => inboundOfHetzner(rule as Record<string, unknown>))
        .filter((rule): rule is InboundRule => rule !== undefined);
      return firewallFindings(rules, { ...context, resource: `firewall ${resource.name}` });
    }
    case "hcloud:index/loadBalancerService:LoadBalancerService": {
      const port = Number(inputs.listenPort);
      if (!context.behindCloudflare || ![80, 443].includes(port) || inputs.proxyprotocol === true) return [];
      return [
        {
          rule: "F3",
          resource: `load balancer service ${resource.name}`,
          message: `forwards ${port} without the PROXY protocol while DNS is proxied: the targets cannot admit only Cloudflare`,
        },
      ];
    }
    case "hcloud:index/server:Server": {
      const findings: Finding[] = [];
      const firewalls = Array.isArray(inputs.firewallIds) ? inputs.firewallIds : [];
      if (firewalls.length === 0) findings.push({ rule: "F4", resource: `server ${resource.name}`, message: "no firewall attached" });
      if (
        isProduction(model) &&
        (parseBool(inputs.deleteProtection) !== true || parseBool(inputs.rebuildProtection) !== true) &&
        !containsUnresolved([inputs.deleteProtection, inputs.rebuildProtection])
      ) {
        findings.push({
          rule: "F4",
          resource: `server ${resource.name}`,
          message: "a server of a stack that is not disposable without delete and rebuild protection",
        });
      }
      // The user-data carries the server's SSH host key, so a recorded graph
      // shows it masked; the model policy has judged the same document
      // (hostConfigurationOf renders it with cloudInitUserData).
      if (isString(inputs.userData) && inputs.userData !== MASKED) {
        const { files, packages } = readUserData(inputs.userData);
        const script = files.get(FIREWALL_SCRIPT_PATH);
        findings.push(
          ...hostFindings(
            { resource: `host ${resource.name}`, files, packages, cloudFirewall: firewalls.length > 0, ...(script === undefined ? {} : { ufwScript: script }) },
            ssh,
          ),
        );
      }
      return findings;
    }
    case "pulumi:providers:docker":
      return dockerHostKeyFindings(resource);
    case SSH_COMMAND_TYPE: {
      const connection = inputs.connection;
      const pinned =
        typeof connection === "object" && connection !== null ? pinnedKeyProblem((connection as Record<string, unknown>).hostPublicKey) : undefined;
      const keyFindings = pinned === undefined ? [] : [{ rule: "H9", resource: `host command ${resource.name}`, message: pinned }];
      return [...keyFindings, ...hostCommandFindings(resource, model, ssh)];
    }
    case "cloudflare:index/dnsRecord:DnsRecord":
      return inputs.proxied === undefined ? [] : recordFindings(`record ${resource.name}`, { proxied: inputs.proxied === true });
    case "pulumi-nodejs:dynamic/storage:Bucket":
      return "noncurrentVersionExpiryDays" in inputs
        ? expiryFindings(
            `bucket ${resource.name}`,
            inputs.noncurrentVersionExpiryDays,
            platformRetentionWindowDays(
              (model.config as { backup?: { retention?: { daily?: number } } }).backup,
              model.hosts.map((host) => host.backup),
            ),
          )
        : [];
    default:
      if (resource.type.startsWith("command:remote:")) {
        return [
          {
            rule: "H9",
            resource: `host command ${resource.name}`,
            message: "@pulumi/command's remote.Command accepts whatever host key answers (pulumi-command#755)",
          },
          ...hostCommandFindings({ ...resource, inputs: { ...inputs, create: inputs.create ?? inputs.update } }, model, ssh),
        ];
      }
      // S1/S2: any other bucket resource is not kept private and versioned by our provider.
      if (/bucket/i.test(resource.type) && !BUCKET_TYPES.includes(resource.type) && !/bucketobject|object:/i.test(resource.type)) {
        return ["S1", "S2"].map((rule) => ({
          rule,
          resource: `bucket ${resource.name}`,
          message: `${resource.type} is not managed by components/storage/bucket.ts, which keeps buckets private and versioned`,
        }));
      }
      return [];
  }
}

/** A host preparation script: it installs the hardened sshd drop-in (the files H1-H8 judge). */
function isPreparation(script: string): boolean {
  return readFilesOfScript(script).has(SSHD_DROP_IN_PATH);
}

/** The host a command runs on: its connection's address and port, or its name when that is not known yet. */
function hostKeyOf(resource: GraphResource): string {
  const connection = (resource.inputs.connection ?? {}) as Record<string, unknown>;
  return isString(connection.host) ? `${connection.host}:${String(connection.port ?? 22)}` : hostLabel(resource.name);
}

/** `vpai-main` for the command `vpai-main-prepare` (the components' naming), the command's name otherwise. */
function hostLabel(commandName: string): string {
  return commandName.replace(/-(prepare|firewall-ufw|host-ufw)$/, "");
}

/**
 * Everything a host command runs, judged by content: its command line, its
 * stdin when that is a script (or when it cannot be read and the command line
 * would run it), and its delete command. What it opens goes through F1-F3 and
 * must stay within the platform's firewall rules (H6); what it turns off or
 * rewrites is refused under the rule it weakens; a host preparation is judged
 * whole (H1-H8), and a script that (re)defines UFW's policy must be a whole
 * firewall script (H6).
 */
function hostCommandFindings(resource: GraphResource, model: PlatformModel, ssh: SSHContext): Finding[] {
  const { inputs } = resource;
  const findings: Finding[] = [];
  const scripts: { text: string; kind: "command line" | "script" }[] = [];
  const create = inputs.create;
  const stdin = inputs.stdin;
  const unreadable = (what: string) =>
    findings.push({
      rule: "H6",
      resource: `host command ${resource.name}`,
      message: `runs a script the policy cannot read (${what} is a secret); give the script as plain text and its secrets on stdin`,
    });
  if (create === MASKED) unreadable("its command line");
  else if (isString(create)) scripts.push({ text: create, kind: "command line" });
  if (isString(inputs.delete) && inputs.delete !== MASKED) scripts.push({ text: inputs.delete, kind: "command line" });
  else if (inputs.delete === MASKED) unreadable("its delete command");
  // stdin is a script when the command line runs it; otherwise it is data, whose destination the command line shows.
  const stdinRuns = !isString(create) || runsStdin(simpleCommands(create));
  if (stdin === MASKED && stdinRuns) unreadable("its stdin");
  else if (isString(stdin) && stdin !== MASKED && stdinRuns) scripts.push({ text: stdin, kind: "script" });

  const preparation = isString(stdin) && stdin !== MASKED && isPreparation(stdin);
  if (preparation) {
    // H6 for these hosts is their UFW command's, judged as the script it is.
    findings.push(
      ...hostFindings(
        { resource: `host ${hostLabel(resource.name)}`, files: readFilesOfScript(stdin), packages: readPackagesOfScript(stdin), cloudFirewall: true },
        ssh,
      ),
    );
  }
  const context = { ...ssh, behindCloudflare: behindCloudflare(model.config.dns) };
  // The ops host's own rules (the VPN port) are the platform's too.
  const allowed = [...model.hosts.flatMap((host) => hostFirewallOf(host).rules), ...(model.opsHost?.firewall ?? [])];
  for (const { text: script, kind } of scripts) {
    const verdict = scriptVerdict(script, kind);
    const subject = verdict.managesUFW ? `host firewall ${resource.name}` : `host command ${resource.name}`;
    if (verdict.managesUFW) {
      findings.push(...ufwProblems(script, ssh).map((message) => ({ rule: "H6", resource: subject, message })));
      // Every way UFW is told to allow (ports, ranges, lists, service names such as ssh), judged as a whole firewall.
      findings.push(...firewallFindings(ufwAllowRules(script), { ...context, resource: subject }));
    }
    for (const { rule, message } of verdict.issues) findings.push({ rule, resource: subject, message });
    const outside = verdict.openings.map((opening) => publicPart(opening.rule)).filter((rule): rule is InboundRule => rule !== undefined);
    // Whether SSH stays reachable (H10) is a whole firewall's question, judged
    // above on every rule of a UFW script: these openings leave out private
    // sources (peers, and admins on a VPN in 10.0.0.0/8), so they cannot answer it.
    findings.push(...openingFindings(outside, { ...context, resource: subject }));
    for (const opening of verdict.openings) {
      // Private-network peers are ufwProblems' to judge: only private sources, and only to ports published for them.
      const rule = publicPart(opening.rule);
      const message = rule && beyondPlatform({ ...opening, rule }, allowed);
      if (message) findings.push({ rule: "H6", resource: subject, message });
    }
  }
  return dedupe(findings);
}

function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.rule}\u0000${finding.resource}\u0000${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The role and image the platform model gives the container of that name. A
 * label on the container could claim any role (the ingress may publish 80
 * and 443), so a container the model does not place has none; its image is
 * the fallback when the container names an image id.
 */
function serviceOf(model: PlatformModel, containerName: string): { name: string; role: string; image: string } | undefined {
  const service = model.hosts.flatMap((host) => host.services).find((candidate) => model.containerNames[candidate.name] === containerName);
  return service && { name: service.name, role: service.role, image: imageName(service.image) };
}

/**
 * E4 on a container as registered, when it is a data API: its environment
 * once resolved (the policy pack's view; a recorded graph masks it, and the
 * model policy judged the same values), with the database's init scripts
 * from the platform model.
 */
function registeredDataApiFindings(inputs: Readonly<Record<string, unknown>>, image: string | undefined, model: PlatformModel): Finding[] {
  if (!isString(inputs.name) || !Array.isArray(inputs.envs) || !inputs.envs.every(isString) || (inputs.envs as string[]).some((entry) => entry === MASKED))
    return [];
  const spec = model.hosts.flatMap((host) => host.services).find((candidate) => model.containerNames[candidate.name] === inputs.name);
  const repository = (image ?? "").replace(/@sha256:[0-9a-f]+$/, "").replace(/:[^/:]+$/, "");
  const env = Object.fromEntries(
    (inputs.envs as string[]).map((entry) => (entry.includes("=") ? [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)] : [entry, ""])),
  );
  const api: DataService = {
    name: spec?.name ?? inputs.name,
    image: { repository },
    env,
    files: spec?.files ?? [],
    secretFiles: spec?.secretFiles ?? [],
    ...(spec?.dataApi ? { dataApi: spec.dataApi } : {}),
  };
  if (!isDataApi(api)) return [];
  return superuserFindings(api, model.spec.services, spec ? containerResource(model, spec.name) : `container ${inputs.name}`);
}

/**
 * H9 on a Docker provider that reaches its host over SSH. Its options are a
 * list while the program runs, and JSON text in a recorded graph (the engine
 * records a provider's inputs as strings); an Output not resolved yet was
 * judged when its key was validated.
 */
function dockerHostKeyFindings(resource: GraphResource): Finding[] {
  const { host, sshOpts } = resource.inputs;
  if (!isString(host) || !host.startsWith("ssh://")) return [];
  let options: unknown = sshOpts ?? [];
  if (isString(options)) {
    try {
      options = JSON.parse(options);
    } catch {
      options = [options];
    }
  }
  if (!Array.isArray(options)) return [];
  return sshOptionsProblems(options.filter(isString)).map((message) => ({ rule: "H9", resource: `docker provider ${resource.name}`, message }));
}

/**
 * Findings only the whole graph shows: zone settings together, each existing
 * host's UFW, restic keys left in clear. `secretsMasked` says the inputs show
 * secrets as [secret] (a recorded graph), so a restic key seen in clear was
 * not a secret; a policy pack sees secrets unwrapped and cannot tell.
 */
export function graphWideFindings(
  resources: readonly GraphResource[],
  model: PlatformModel,
  options: { secretsMasked: boolean } = { secretsMasked: true },
): Finding[] {
  const findings: Finding[] = [];
  const zones = new Map<string, Map<string, unknown>>();
  for (const resource of resources.filter((candidate) => candidate.type === "cloudflare:index/zoneSetting:ZoneSetting")) {
    const zone = String(resource.inputs.zoneId);
    zones.set(zone, (zones.get(zone) ?? new Map()).set(String(resource.inputs.settingId), resource.inputs.value));
  }
  for (const [zone, settings] of zones) findings.push(...zoneFindings(`zone ${zone}`, settings, isProduction(model)));

  // Each host prepared by a command (an existing VPS) needs a command that
  // applies its UFW firewall: both found by what they run, not by their names.
  const commands = resources.filter((resource) => resource.type === SSH_COMMAND_TYPE);
  const firewalled = new Set(commands.filter((resource) => isString(resource.inputs.stdin) && scriptVerdict(resource.inputs.stdin).managesUFW).map(hostKeyOf));
  for (const prepared of commands.filter((resource) => isString(resource.inputs.stdin) && isPreparation(resource.inputs.stdin))) {
    if (!firewalled.has(hostKeyOf(prepared))) {
      const host = hostLabel(prepared.name);
      findings.push(
        { rule: "H6", resource: `host ${host}`, message: "an existing host without a UFW firewall command" },
        { rule: "F4", resource: `server ${host}`, message: "no firewall for this server" },
      );
    }
  }

  const visit = (value: unknown, path: string, owner: string) => {
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${path}[${index}]`, owner));
    else if (typeof value === "object" && value !== null)
      for (const [key, item] of Object.entries(value)) {
        if (/restic.?(password|key)/i.test(key) && item !== MASKED)
          findings.push({ rule: "S4", resource: owner, message: `${path}.${key} holds the restic key in clear text` });
        else visit(item, `${path}.${key}`, owner);
      }
  };
  if (options.secretsMasked) for (const resource of resources) visit(resource.inputs, "inputs", `${resource.type} ${resource.name}`);

  // C11 on the ingress again, on the configuration each ingress container
  // was registered with: its uploads, and the live files its config command
  // installs; what is not plain yet was judged on the model.
  const proxy = ingressProxy(model);
  const proxyContainer = model.containerNames[proxy];
  for (const resource of resources.filter((candidate) => candidate.type === "docker:index/container:Container" && candidate.inputs.name === proxyContainer)) {
    const uploads = Array.isArray(resource.inputs.uploads) ? (resource.inputs.uploads as { file?: unknown; content?: unknown }[]) : [];
    const uploaded = uploads.flatMap((upload) => (isString(upload.file) && isString(upload.content) ? [{ path: upload.file, content: upload.content }] : []));
    const live = commands.flatMap((command) => liveFilesInstalled(command.inputs.triggers, proxyContainer!));
    const files = [...uploaded, ...live];
    findings.push(...routeFindings(routedNames(model), model.spec.services, proxy, files));
    // E1-E3 on the same configuration; E4 needs no ingress and was judged on each container.
    findings.push(...exposureOf(model, files).filter((finding) => finding.rule !== "E4"));
  }
  return findings;
}

/** The graph-level report of a recorded graph (the offline plan and tests). */
export function evaluateGraph(resources: readonly GraphResource[], model: PlatformModel): PolicyReport {
  const findings = [...resources.flatMap((resource) => resourceFindings(resource, model)), ...graphWideFindings(resources, model)];
  const { violations, waivers } = applyWaivers(findings, modelWaivers(model));
  return { violations, waivers, notApplicable: [] };
}
