#!/bin/sh
# benches/containers.sh [--hosts N] [--drain D]
#
# std/container against the naive way, on N real Docker hosts from
# tests/support/fleet.sh (FLEET_DOCKER=1: network namespaces, one sshd,
# dockerd and nginx per host, a registry on the bridge; root needed).
# Images are FROM scratch + busybox-static, built offline.
#
# For each way, 1.0.0 is deployed first; then, while a load generator sends
# requests to every host's nginx (one connection per request, 4 clients per
# host), 1.1.0 is deployed. Measured: the time from the start of the deploy
# to every host's nginx answering 1.1.0 ("serving"), the time until the
# deploy command returned, and the requests that failed during it (status
# not 200, refused or reset connection).
#
#   deploy: `deploy run` of a plan with container.build (no push: the
#           images are already in the registry, the same for both) and
#           container.app (start beside, health, switch nginx, drain D,
#           stop the old one).
#   naive:  on every host at once, over ssh: `docker pull && docker stop &&
#           docker rm && docker run` on one fixed port that nginx sends to.
#
# Not a timed test; the numbers go to docs/performance.md.
set -eu

hosts=2
drain=2s
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) hosts=$2; shift 2 ;;
    --drain) drain=$2; shift 2 ;;
    *) echo "usage: containers.sh [--hosts N] [--drain D]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "containers.sh: needs root (network namespaces)" >&2; exit 77; }
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY:-$root/target/debug/deploy}
[ -x "$deploy" ] || deploy=$(command -v deploy) || { echo "containers.sh: build deploy first (cargo build), or set DEPLOY" >&2; exit 2; }
work=$(mktemp -d /tmp/bench-containers.XXXXXX)
fleet="$root/tests/support/fleet.sh"
cleanup() { sh "$fleet" down "$work/fleet" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
FLEET_DOCKER=1 FLEET_REGISTRY_PORT="$port" sh "$fleet" up "$work/fleet" "$hosts" >/dev/null
registry=$(cat "$work/fleet/registry")
export DOCKER_HOST="unix://$work/fleet/builder/run/docker.sock"
docker=/usr/bin/docker
ssh_to() { ssh -n -F "$work/fleet/ssh_config" -o BatchMode=yes "$@"; }

# nginx on every host, port 8080, in front of /srv/nginx/upstream.conf.
while read -r name address srv; do
  mkdir -p "$srv/nginx"
  printf 'upstream app {\n    server 127.0.0.1:9;\n}\n' > "$srv/nginx/upstream.conf"
  printf 'worker_processes 2;\npid /srv/nginx/nginx.pid;\nerror_log /srv/nginx/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  include /srv/nginx/upstream.conf;\n  server {\n    listen %s:8080;\n    location / { proxy_pass http://app; }\n  }\n}\n' "$address" > "$srv/nginx/nginx.conf"
  ssh_to "$name" "nginx -p /srv/nginx/ -c /srv/nginx/nginx.conf -e /srv/nginx/error.log"
done < "$work/fleet/hosts"

# The images, built once and pushed: 1.0.0 and 1.1.0 of "shop" and "naive".
mkdir -p "$work/app/www"
cp /usr/bin/busybox "$work/app/busybox"
echo ok > "$work/app/www/health"
cat > "$work/app/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY www /www
ENV PORT=8080
CMD ["/bin/busybox", "sh", "-c", "trap 'kill $p; exit 0' TERM INT; /bin/busybox httpd -f -p $PORT -h /www & p=$!; wait $p"]
EOF
for v in 1.0.0 1.1.0; do
  echo "version $v" > "$work/app/www/index.html"
  for repo in shop naive; do
    $docker build -q -t "$registry/$repo:$v" "$work/app" >/dev/null
    $docker push -q "$registry/$repo:$v" >/dev/null
  done
done

# A load generator: 4 clients per host until $work/stop exists; prints
# "requests failed" and the first failures.
cat > "$work/load.py" <<'EOF'
import os, socket, sys, threading, time
addresses, stop = sys.argv[1].split(","), sys.argv[2]
counts = {"requests": 0, "failed": 0}
errors = []
lock = threading.Lock()
def client(address):
    while not os.path.exists(stop):
        ok, why = False, ""
        try:
            s = socket.create_connection((address, 8080), timeout=5)
            s.sendall(b"GET / HTTP/1.0\r\nHost: shop\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            ok = data.startswith(b"HTTP/1.1 200") and b"version " in data
            why = data.split(b"\r\n")[0].decode(errors="replace")
        except OSError as e:
            why = str(e)
        with lock:
            counts["requests"] += 1
            if not ok:
                counts["failed"] += 1
                if len(errors) < 3:
                    errors.append(f"{address}: {why}")
        time.sleep(0.005)
threads = [threading.Thread(target=client, args=(a,)) for a in addresses for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(counts["requests"], counts["failed"], "; ".join(errors))
EOF
addresses=$(cut -d' ' -f2 "$work/fleet/hosts" | paste -sd, -)

now() { date +%s.%N; }
# Seconds from $1 until every host's nginx answers version $2.
wait_serving() {
  while :; do
    all=1
    for a in $(echo "$addresses" | tr , ' '); do
      case $(curl -s -m 2 "http://$a:8080/" || true) in "version $2") ;; *) all=0 ;; esac
    done
    [ $all = 0 ] || break
    sleep 0.05
  done
  awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'
}

# deploy.
cat > "$work/app.deploy" <<EOF
import "std/container" as container
pipeline "bench" { description = "containers bench" }
param version: string = "1.0.0"
environment production {
  transport = ssh
  hosts = inventory("$work/fleet/inventory.ini", "web")
  ssh {
    user = "root"
    identity = "$work/fleet/id_ed25519"
    known_hosts = "$work/fleet/known_hosts"
    connect_timeout = 30s
  }
}
stage web from container.app {
  target = production
  runtime = "/usr/bin/docker"
  state = "/srv/containers"
  name = "shop"
  image = "$registry/shop"
  health = "/health"
  drain = $drain
  stop_timeout = 3s
  upstream_file = "/srv/nginx/upstream.conf"
  nginx = "nginx -p /srv/nginx/ -c /srv/nginx/nginx.conf -e /srv/nginx/error.log"
}
EOF
(cd "$work" && "$deploy" run app.deploy --set version=1.0.0 >/dev/null)
rm -f "$work/stop"; python3 "$work/load.py" "$addresses" "$work/stop" > "$work/load-deploy" & load=$!
sleep 1
start=$(now)
(cd "$work" && "$deploy" run app.deploy --set version=1.1.0 >/dev/null) & run=$!
serving=$(wait_serving "$start" 1.1.0)
wait $run
returned=$(awk -v a="$(now)" -v b="$start" 'BEGIN { print a - b }')
sleep 1; touch "$work/stop"; wait $load
read -r requests failed why < "$work/load-deploy" || true
printf 'deploy (std/container, drain %s), %s hosts: serving 1.1.0 after %.2fs, returned after %.2fs; %s of %s requests failed %s\n' "$drain" "$hosts" "$serving" "$returned" "$failed" "$requests" "${why:+($why)}"

# naive: the same hosts, another app on a fixed port behind the same nginx.
naive() {
  v=$1
  while read -r name address srv; do
    ssh_to "$name" "docker pull -q $registry/naive:$v >/dev/null && (docker stop shop-naive >/dev/null 2>&1; docker rm shop-naive >/dev/null 2>&1; true) && docker run -d --name shop-naive --network host -e PORT=21000 $registry/naive:$v >/dev/null" &
  done < "$work/fleet/hosts"
  wait
}
while read -r name address srv; do
  ssh_to "$name" "docker rm -f \$(docker ps -aq --filter label=deploy.app=shop) >/dev/null"
  printf 'upstream app {\n    server 127.0.0.1:21000;\n}\n' > "$srv/nginx/upstream.conf"
  ssh_to "$name" "nginx -p /srv/nginx/ -c /srv/nginx/nginx.conf -e /srv/nginx/error.log -s reload"
done < "$work/fleet/hosts"
naive 1.0.0
wait_serving "$(now)" 1.0.0 >/dev/null
rm -f "$work/stop"; python3 "$work/load.py" "$addresses" "$work/stop" > "$work/load-naive" & load=$!
sleep 1
start=$(now)
naive 1.1.0 & run=$!
serving=$(wait_serving "$start" 1.1.0)
wait $run
returned=$(awk -v a="$(now)" -v b="$start" 'BEGIN { print a - b }')
sleep 1; touch "$work/stop"; wait $load
read -r requests failed why < "$work/load-naive" || true
printf 'naive (docker pull && docker stop && docker run), %s hosts: serving 1.1.0 after %.2fs, returned after %.2fs; %s of %s requests failed %s\n' "$hosts" "$serving" "$returned" "$failed" "$requests" "${why:+($why)}"
