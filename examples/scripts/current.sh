#!/bin/sh
# current.sh HOST — the release HOST's `current` symlink points to (what
# `deploy verify` compares with the state); nothing when there is none yet.
set -eu
. "$(dirname "$0")/lib.sh"
dir=$(host_dir "$1")
if [ -L "$dir/current" ]; then
  basename "$(readlink "$dir/current")"
fi
