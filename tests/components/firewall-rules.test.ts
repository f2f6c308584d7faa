import { describe, expect, it } from "vitest";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { dockerUserRules, firewallRules, hetznerRules, ufwScript, type Exposure } from "../../components/network/firewall-rules";

const web: Exposure[] = [
  { port: 443, protocol: "tcp", service: "caddy" },
  { port: 80, protocol: "tcp", service: "caddy" },
];
const admin = ["198.51.100.7/32"];

describe("firewallRules", () => {
  it.each([
    {
      case: "web ports from anywhere when DNS is not proxied",
      exposed: web,
      behindCloudflare: false,
      expected: [
        ["tcp", 22, admin],
        ["tcp", 80, ["0.0.0.0/0", "::/0"]],
        ["tcp", 443, ["0.0.0.0/0", "::/0"]],
        ["icmp", undefined, ["0.0.0.0/0", "::/0"]],
      ],
    },
    {
      case: "web ports only from Cloudflare when proxied (F3)",
      exposed: web,
      behindCloudflare: true,
      expected: [
        ["tcp", 22, admin],
        ["tcp", 80, [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]],
        ["tcp", 443, [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]],
        ["icmp", undefined, ["0.0.0.0/0", "::/0"]],
      ],
    },
    {
      case: "nothing exposed: SSH from admins and ICMP only",
      exposed: [],
      behindCloudflare: true,
      expected: [
        ["tcp", 22, admin],
        ["icmp", undefined, ["0.0.0.0/0", "::/0"]],
      ],
    },
    {
      case: "one rule per port when two services share it",
      exposed: [
        { port: 8443, protocol: "tcp", service: "a" },
        { port: 8443, protocol: "tcp", service: "b" },
      ],
      behindCloudflare: false,
      expected: [
        ["tcp", 22, admin],
        ["tcp", 8443, ["0.0.0.0/0", "::/0"]],
        ["icmp", undefined, ["0.0.0.0/0", "::/0"]],
      ],
    },
  ] as const)("$case", ({ exposed, behindCloudflare, expected }) => {
    const rules = firewallRules(exposed as Exposure[], { adminCidrs: admin, behindCloudflare, sshPort: 22 });
    expect(rules.map((rule) => [rule.protocol, rule.port, rule.sourceCidrs])).toEqual(expected);
  });

  it("never opens SSH to everyone (F1) and nothing but SSH and the exposures (F2)", () => {
    const rules = firewallRules(web, { adminCidrs: admin, behindCloudflare: false, sshPort: 22 });
    const ssh = rules.filter((rule) => rule.port === 22);
    expect(ssh).toHaveLength(1);
    expect(ssh[0]!.sourceCidrs).toEqual(admin);
    expect(rules.filter((rule) => rule.port !== undefined).map((rule) => rule.port)).toEqual([22, 80, 443]);
  });

  it("renders Hetzner rules and a UFW script from the same decision", () => {
    const rules = firewallRules(web, { adminCidrs: admin, behindCloudflare: false, sshPort: 22 });
    expect(hetznerRules(rules)[0]).toEqual({ direction: "in", protocol: "tcp", port: "22", sourceIps: admin, description: "ssh from admin networks" });
    expect(hetznerRules(rules)[3]).toEqual({ direction: "in", protocol: "icmp", sourceIps: ["0.0.0.0/0", "::/0"], description: "icmp" });
    const script = ufwScript(rules);
    expect(script).toContain("ufw default deny incoming");
    expect(script).toContain("ufw allow proto tcp from 198.51.100.7/32 to any port 22");
    expect(script).not.toMatch(/from 0\.0\.0\.0\/0 to any port 22\b/);
    expect(
      script
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("ufw allow")),
    ).toHaveLength(1 + 2 + 2);
  });
});

describe("dockerUserRules (H6)", () => {
  const proxied = firewallRules(web, { adminCidrs: [...admin, "2001:db8::/32"], behindCloudflare: true, sshPort: 22 });

  it.each([
    { family: "ipv4" as const, admins: admin, sources: [...CLOUDFLARE_IPV4] },
    { family: "ipv6" as const, admins: ["2001:db8::/32"], sources: [...CLOUDFLARE_IPV6] },
  ])("$family: established and container traffic pass, each rule's port from its sources, everything else dropped", ({ family, admins, sources }) => {
    const lines = dockerUserRules(proxied, family).trim().split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "*filter",
      ":DOCKER-USER - [0:0]",
      "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-A DOCKER-USER -i docker0 -j RETURN",
      "-A DOCKER-USER -i br-+ -j RETURN",
    ]);
    const allowed = lines.filter((line) => line.includes("--ctorigdstport")).map((line) => /-s (\S+) .*--ctorigdstport (\d+)/.exec(line)!.slice(1));
    // The same decision as INPUT: a published 22 would be for admins only.
    expect(allowed).toEqual([
      ...admins.map((source) => [source, "22"]),
      ...sources.map((source) => [source, "80"]),
      ...sources.map((source) => [source, "443"]),
    ]);
    expect(lines.slice(-2)).toEqual(["-A DOCKER-USER -j DROP", "COMMIT"]);
  });

  it("admits private-network peers to what is published on the private address only, before the final DROP, IPv4 only", () => {
    const peers = {
      address: "10.0.1.2",
      sourceCidr: "10.0.0.0/16",
      ports: [
        { port: 6432, protocol: "tcp" as const, service: "pgbouncer" },
        { port: 6379, protocol: "tcp" as const, service: "redis" },
      ],
    };
    const lines = dockerUserRules(proxied, "ipv4", peers).trim().split("\n");
    expect(lines.slice(-4)).toEqual([
      "-A DOCKER-USER -s 10.0.0.0/16 -p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.1.2 --ctorigdstport 6432 -j RETURN",
      "-A DOCKER-USER -s 10.0.0.0/16 -p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.1.2 --ctorigdstport 6379 -j RETURN",
      "-A DOCKER-USER -j DROP",
      "COMMIT",
    ]);
    expect(dockerUserRules(proxied, "ipv6", peers)).toBe(dockerUserRules(proxied, "ipv6"));
    // Not an inbound rule: the cloud firewall and UFW's INPUT never open these ports (F2).
    expect(
      ufwScript(proxied, peers)
        .split("\n")
        .filter((line) => line.startsWith("ufw allow")),
    ).toEqual(
      ufwScript(proxied)
        .split("\n")
        .filter((line) => line.startsWith("ufw allow")),
    );
  });

  it("the UFW script denies routed traffic and appends the chain to after.rules and after6.rules once each", () => {
    const script = ufwScript(proxied);
    expect(script).toContain("ufw default deny routed");
    expect(script.match(/^cat >> \/etc\/ufw\/after\.rules <<'DOCKER_USER'$/gm)).toHaveLength(1);
    expect(script.match(/^cat >> \/etc\/ufw\/after6\.rules <<'DOCKER_USER'$/gm)).toHaveLength(1);
    expect(script).toContain(dockerUserRules(proxied, "ipv4").trimEnd());
    expect(script).toContain(dockerUserRules(proxied, "ipv6").trimEnd());
    expect(script.indexOf("ufw --force reset")).toBeLessThan(script.indexOf("cat >> /etc/ufw/after.rules"));
    expect(script.indexOf("cat >> /etc/ufw/after6.rules")).toBeLessThan(script.indexOf("ufw --force enable"));
  });
});
