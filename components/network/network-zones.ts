/** Hetzner network zones and the locations in each (docs.hetzner.com, "Networks": network zones). */
export const NETWORK_ZONES: Readonly<Record<string, readonly string[]>> = {
  "eu-central": ["fsn1", "nbg1", "hel1"],
  "us-east": ["ash"],
  "us-west": ["hil"],
  "ap-southeast": ["sin"],
};
