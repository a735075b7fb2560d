#!/bin/sh
# bg_require_idle.sh STATE COLOUR — refuses to install into the colour that is live.
set -eu
state=$(cd "$1" && pwd)
if grep -qF "unix:$state/$2.sock;" "$state/nginx/upstream.conf"; then
  echo "$2 is the live colour: deploy into the other one (--set colour=...)" >&2
  exit 1
fi
echo "$2 is idle"
