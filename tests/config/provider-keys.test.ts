import * as cloudflareConfig from "@pulumi/cloudflare/config";
import * as hcloudConfig from "@pulumi/hcloud/config";
import { describe, expect, it } from "vitest";
import { PROVIDER_KEYS, REFUSED_PROVIDER_KEYS } from "../../infra/config/schema";

// The provider settings validation takes are the ones each provider's SDK
// documents in its config module; every documented one is either taken or
// refused with a reason, so an SDK upgrade that adds a setting shows up here.
describe("provider keys", () => {
  it.each([
    ["hcloud", Object.keys(hcloudConfig)],
    ["cloudflare", Object.keys(cloudflareConfig)],
  ])("%s: each documented setting is taken or refused with a reason, and nothing else", (provider, documented) => {
    const taken = PROVIDER_KEYS[provider] ?? [];
    const refused = Object.keys(REFUSED_PROVIDER_KEYS)
      .filter((key) => key.startsWith(`${provider}:`))
      .map((key) => key.slice(provider.length + 1));
    expect([...taken, ...refused].sort()).toEqual([...documented].sort());
  });
});
