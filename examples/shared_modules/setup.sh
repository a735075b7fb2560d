#!/bin/sh
# Publishes modules/ as a git repository with a tag, the way a platform team
# would on its git server: a bare repository at $1 (default
# /tmp/deploy-example-modules.git) holding v1.0.0.
set -eu
bare=${1:-/tmp/deploy-example-modules.git}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/modules/." "$work/"
cd "$work"
git init -q -b main .
git add -A
git -c user.name=platform -c user.email=platform@example.com commit -q -m "web.service"
git tag v1.0.0
rm -rf "$bare"
git clone -q --bare "$work" "$bare"
echo "published $bare with tag v1.0.0"
