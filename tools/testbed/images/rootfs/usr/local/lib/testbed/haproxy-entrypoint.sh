#!/bin/sh
# The haproxy image's entrypoint: options run haproxy with them, and haproxy
# itself runs in the foreground in master-worker mode (-W -db); anything else
# runs as given.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- haproxy "$@"
fi
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
