import { stringify } from "yaml";
import { SLACK_WEBHOOK_SECRET, SMTP_PASSWORD_SECRET, WEBHOOK_TOKEN_SECRET, type Receivers } from "./settings";

/**
 * Alertmanager's configuration from the stack's receivers. Credentials never
 * appear in it: each is a file Alertmanager reads (`*_file`), uploaded into
 * the container from a Pulumi secret.
 */

export const ALERTMANAGER_CONFIG_PATH = "/etc/alertmanager/alertmanager.yml";
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

/** A file whose content is the value of a secret config key. */
export interface SecretFile {
  readonly path: string;
  readonly secret: string;
}

export interface AlertmanagerConfig {
  readonly content: string;
  readonly secretFiles: readonly SecretFile[];
  /** The integrations that notify, for the plan: `email to ...`, `slack #channel`, `webhook ...`. */
  readonly notifies: readonly string[];
}

export const RECEIVER_NAME = "platform";

export function alertmanagerConfig(receivers: Receivers): AlertmanagerConfig {
  const secretFiles: SecretFile[] = [];
  const notifies: string[] = [];
  const fileFor = (secret: string, name: string) => {
    const path = `${ALERTMANAGER_SECRETS_DIR}/${name}`;
    secretFiles.push({ path, secret });
    return path;
  };
  const global: Record<string, unknown> = { resolve_timeout: "5m" };
  const receiver: Record<string, unknown> = { name: RECEIVER_NAME };

  if (receivers.email) {
    const email = receivers.email;
    Object.assign(global, {
      smtp_smarthost: email.smarthost,
      smtp_from: email.from,
      smtp_require_tls: email.requireTLS,
      ...(email.username === undefined ? {} : { smtp_auth_username: email.username, smtp_auth_password_file: fileFor(SMTP_PASSWORD_SECRET, "smtp-password") }),
    });
    receiver.email_configs = [{ to: email.to.join(", "), send_resolved: true }];
    notifies.push(`email to ${email.to.join(", ")} via ${email.smarthost}`);
  }
  if (receivers.slack) {
    receiver.slack_configs = [
      {
        api_url_file: fileFor(SLACK_WEBHOOK_SECRET, "slack-webhook-url"),
        channel: receivers.slack.channel,
        send_resolved: true,
        title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
      },
    ];
    notifies.push(`slack ${receivers.slack.channel}`);
  }
  if (receivers.webhook) {
    receiver.webhook_configs = [
      {
        url: receivers.webhook.url,
        send_resolved: true,
        ...(receivers.webhook.bearerToken
          ? { http_config: { authorization: { type: "Bearer", credentials_file: fileFor(WEBHOOK_TOKEN_SECRET, "webhook-token") } } }
          : {}),
      },
    ];
    notifies.push(`webhook ${receivers.webhook.url}`);
  }

  const document = {
    global,
    route: {
      receiver: RECEIVER_NAME,
      group_by: ["alertname", "instance"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      // A critical alert is repeated hourly until someone acts on it.
      routes: [{ matchers: ['severity="critical"'], receiver: RECEIVER_NAME, repeat_interval: "1h" }],
    },
    // While a container is down, its port probe and scrape failing say nothing new.
    inhibit_rules: [
      { source_matchers: ['alertname="ContainerDown"'], target_matchers: ['alertname=~"ContainerUnhealthy|ScrapeTargetDown"'], equal: ["instance"] },
    ],
    receivers: [receiver],
  };
  return { content: stringify(document, { lineWidth: 0 }), secretFiles, notifies };
}
