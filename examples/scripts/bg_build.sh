#!/bin/sh
# bg_build.sh STATE VERSION FAIL_AT — builds the web app (a static page) into
# STATE/artifacts/site-VERSION.tar.gz. With FAIL_AT=live the page is built
# without its version: healthy on its own, but the check through nginx fails.
set -eu
state=$1 version=$2 fail_at=$3
build="$state/build/$version"
rm -rf "$build"
mkdir -p "$build" "$state/artifacts"
if [ "$fail_at" = live ]; then
  echo "<h1>webshop (a broken build)</h1>" > "$build/index.html"
else
  echo "<h1>webshop $version</h1>" > "$build/index.html"
fi
echo ok > "$build/health.txt"
tar -czf "$state/artifacts/site-$version.tar.gz" -C "$build" .
echo "built webshop $version"
