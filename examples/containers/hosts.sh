#!/bin/sh
# Two local Docker hosts for examples/containers/app.deploy (root needed):
# each a network namespace with its own sshd, dockerd (its own
# /var/run/docker.sock and data root) and nginx on port 8080 in front of the
# app; plus a registry on their bridge and a dockerd for this machine to
# build and push with. Nothing is pulled from the internet: the image is
# FROM scratch + busybox-static.
#
#   sudo examples/containers/hosts.sh up      # start web-1 and web-2
#   . examples/containers/.hosts/env          # DOCKER_HOST and REGISTRY for deploy
#   deploy run examples/containers/app.deploy --set version=1.0.0
#   sudo examples/containers/hosts.sh down    # stop everything
#
# Needs: docker.io, docker-registry, busybox-static, openssh-server, nginx,
# iproute2 (Debian package names).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/.hosts"
fleet="$here/../../tests/support/fleet.sh"
case ${1:-up} in
  up)
    sh "$fleet" down "$dir"
    FLEET_DOCKER=1 FLEET_REGISTRY_PORT=5000 sh "$fleet" up "$dir" "${2:-2}"
    cp /usr/bin/busybox "$here/app/busybox"
    while read -r name address srv; do
      mkdir -p "$srv/nginx"
      printf 'upstream app {\n    server 127.0.0.1:9;\n}\n' > "$srv/nginx/upstream.conf"
      cat > "$srv/nginx/nginx.conf" <<CONF
worker_processes 2;
pid /srv/nginx/nginx.pid;
error_log /srv/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  include /srv/nginx/upstream.conf;
  server {
    listen $address:8080;
    location / { proxy_pass http://app; }
  }
}
CONF
      ssh -n -F "$dir/ssh_config" "$name" "nginx -p /srv/nginx/ -c /srv/nginx/nginx.conf -e /srv/nginx/error.log"
      echo "$name  $address  http://$address:8080/  (/srv is $srv)"
    done < "$dir/hosts"
    {
      echo "export DOCKER_HOST=unix://$dir/builder/run/docker.sock"
      echo "export REGISTRY=$(cat "$dir/registry")"
      echo "export PATH=/usr/bin:\$PATH"
    } > "$dir/env"
    echo "now: . $dir/env" ;;
  down) sh "$fleet" down "$dir" ;;
  *) echo "usage: hosts.sh up [COUNT] | down" >&2; exit 2 ;;
esac
