#!/bin/sh
# ghcr.io/berriai/litellm's entrypoint (docker/prod_entrypoint.sh in /app):
# runs `litellm` with the image's arguments, here the testbed's stand-in.
if [ "$USE_DDTRACE" = "true" ]; then
  echo "USE_DDTRACE=true: ddtrace is not in the testbed's image" >&2
  exit 1
fi
exec litellm "$@"
