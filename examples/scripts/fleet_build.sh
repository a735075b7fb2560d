#!/bin/sh
# fleet_build.sh VERSION — "build" a release tree for examples/fleet.deploy:
# .fleet/dist/VERSION/bin/app (executable) and a VERSION file.
set -eu
version=$1
out="$(dirname "$0")/../.fleet/dist/$version"
mkdir -p "$out/bin"
printf '#!/bin/sh\necho "app %s on $(hostname -I 2>/dev/null | cut -d" " -f1)"\n' "$version" > "$out/bin/app"
chmod 755 "$out/bin/app"
echo "$version" > "$out/VERSION"
echo "built $out"
