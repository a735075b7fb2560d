#!/bin/sh
# health.sh VERSION HOST FAIL_AT — check that HOST serves VERSION. When
# FAIL_AT names the running stage, web-3 (or the staging host) reports
# unhealthy, so that the rollback can be seen at work.
set -eu
. "$(dirname "$0")/lib.sh"
version=$1
host=$2
fail_at=$3
dir=$(host_dir "$host")
if ! grep -q "webshop $version" "$dir/current/index.html"; then
  echo "$host: serves the wrong release" >&2
  exit 1
fi
if [ "$fail_at" = "$DEPLOY_STAGE" ] && { [ "$host" = web-3 ] || [ "$DEPLOY_STAGE" = staging ]; }; then
  echo "$host: health check failed (fail_at=$fail_at)" >&2
  exit 1
fi
echo "$host: healthy, serving $version"
