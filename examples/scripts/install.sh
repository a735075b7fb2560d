#!/bin/sh
# install.sh VERSION HOST — copy the build into HOST's releases/VERSION and
# switch its `current` symlink atomically (a new link, then rename over the old).
set -eu
. "$(dirname "$0")/lib.sh"
version=$1
host=$2
dir=$(host_dir "$host")
mkdir -p "$dir/releases"
# Remember what was live, so that the rollback can switch back to it.
if [ -L "$dir/current" ]; then
  live=$(readlink "$dir/current")
  if [ "$live" != "releases/$version" ]; then
    echo "$live" > "$dir/previous"
  fi
else
  rm -f "$dir/previous"
fi
rm -rf "$dir/releases/$version"
cp -R "$ROOT/build/$version" "$dir/releases/$version"
ln -sfn "releases/$version" "$dir/current.tmp"
mv -T "$dir/current.tmp" "$dir/current"
echo "$host: current -> releases/$version"
