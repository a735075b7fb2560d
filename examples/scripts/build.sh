#!/bin/sh
# build.sh VERSION — "build" the site: an index.html that names its version.
set -eu
. "$(dirname "$0")/lib.sh"
version=$1
out="$ROOT/build/$version"
mkdir -p "$out"
printf '<h1>webshop %s</h1>\n' "$version" > "$out/index.html"
echo "built $out/index.html"
