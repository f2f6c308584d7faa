#!/bin/sh
# The nginx image's entrypoint: before `nginx`, it runs the executable
# /docker-entrypoint.d/*.sh; anything else runs as given.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  for script in /docker-entrypoint.d/*.sh; do
    if [ -x "$script" ]; then
      echo "$0: running $script"
      "$script"
    fi
  done
fi
exec "$@"
