import type { NginxOptions } from "../../components/ingress/nginx-conf";

/** nginx's settings for tests that render a configuration from routes alone: no trusted hops, the blueprints' limits. */
export const TEST_NGINX_OPTIONS: NginxOptions = {
  certificateDir: "/etc/letsencrypt/live",
  certificateName: "example",
  rateLimitPerMinute: 100,
  burst: 20,
  realIpFrom: [],
  clientMaxBodyMb: 10,
  healthPath: "/healthz",
  statusPort: 8081,
  statusPath: "/stub_status",
};
