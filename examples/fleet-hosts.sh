#!/bin/sh
# Three real SSH hosts on this machine for examples/fleet.deploy (root needed):
# each a network namespace with its own sshd, host key and /srv.
#
#   sudo examples/fleet-hosts.sh up     # start web-1, web-2, web-3
#   deploy ping examples/fleet.deploy
#   deploy run examples/fleet.deploy --set version=1.0.0
#   sudo examples/fleet-hosts.sh down   # stop them
#
# The client key, known_hosts and an ssh_config with the aliases are written
# to examples/.fleet/; each host's /srv is examples/.fleet/web-N/srv here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/.fleet"
case ${1:-up} in
  up)
    sh "$here/../tests/support/fleet.sh" down "$dir"
    sh "$here/../tests/support/fleet.sh" up "$dir" "${2:-3}"
    cat "$dir/hosts" | while read -r name address srv; do echo "$name  $address  (/srv is $srv)"; done ;;
  down) sh "$here/../tests/support/fleet.sh" down "$dir" ;;
  *) echo "usage: fleet-hosts.sh up [COUNT] | down" >&2; exit 2 ;;
esac
