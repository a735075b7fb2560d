#!/bin/sh
# restore.sh HOST — the rollback: switch `current` back to the release that
# was live before this run (atomically), or remove it if there was none.
set -eu
. "$(dirname "$0")/lib.sh"
host=$1
dir=$(host_dir "$host")
if [ -f "$dir/previous" ]; then
  previous=$(cat "$dir/previous")
  ln -sfn "$previous" "$dir/current.tmp"
  mv -T "$dir/current.tmp" "$dir/current"
  rm -f "$dir/previous"
  echo "$host: current -> $previous (restored)"
else
  rm -f "$dir/current"
  echo "$host: nothing was live before; current removed"
fi
