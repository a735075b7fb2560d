#!/bin/sh
# discard_build.sh VERSION — undo build.sh, unless a host still serves it.
set -eu
. "$(dirname "$0")/lib.sh"
version=$1
for current in "$ROOT"/hosts/*/current; do
  if [ -L "$current" ] && [ "$(readlink "$current")" = "releases/$version" ]; then
    echo "keeping build $version: $(dirname "$current") serves it"
    exit 0
  fi
done
rm -rf "$ROOT/build/$version"
echo "discarded build $version"
