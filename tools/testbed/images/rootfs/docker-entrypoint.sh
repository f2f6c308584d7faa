#!/bin/sh
# n8nio/n8n's /docker-entrypoint.sh (docker/images/n8n in n8n's repository),
# at the path the image has it, behind `tini --` as its ENTRYPOINT: trusts the
# certificates in /opt/custom-certificates when there are any, then runs n8n
# with the container's arguments (`n8n` alone starts the server). The nginx
# image has its own /docker-entrypoint.sh; the testbed's nginx image runs
# /usr/local/lib/testbed/nginx-entrypoint.sh instead (README.md: shared paths).
if [ -d /opt/custom-certificates ]; then
  echo "Trusting custom certificates from /opt/custom-certificates."
  export NODE_OPTIONS="--use-openssl-ca $NODE_OPTIONS"
  export SSL_CERT_DIR=/opt/custom-certificates
fi
if [ "$#" -gt 0 ]; then
  exec n8n "$@"
else
  exec n8n
fi
