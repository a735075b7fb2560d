#!/bin/sh
# canary.sh — the traffic canary example's parts, all on loopback:
#
#   canary.sh up STATE FRONT_PORT PROMETHEUS_PORT   nginx on FRONT_PORT (proxying to the
#        split in STATE/nginx/canary.conf, which std/nginx.split rewrites), Prometheus on
#        PROMETHEUS_PORT scraping every installed version each second, every installed
#        version's app, and a bounded load generator (2 minutes, 1,000 users)
#   canary.sh install STATE VERSION BROKEN          starts VERSION beside the others
#   canary.sh remove STATE VERSION                  stops VERSION and deletes it
#   canary.sh down STATE                            stops everything
set -eu
cmd=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ng="nginx -p $state/nginx/ -c nginx.conf -e logs/error.log"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_version() { # VERSION
  v=$1
  rel="$state/releases/$v"
  broken=""
  if [ "$(cat "$rel/broken")" = true ]; then broken="--broken"; fi
  rm -f "$rel/ready"
  nohup python3 "$rel/app.py" --version "$v" --listen "unix:$state/run/$v.sock" $broken \
    --metrics-port 0 --targets-file "$state/prometheus/targets/$v.json" --ready-file "$rel/ready" \
    >"$rel/app.log" 2>&1 &
  echo $! > "$rel/pid"
  for _ in $(seq 100); do [ -f "$rel/ready" ] && break; sleep 0.05; done
  [ -f "$rel/ready" ] || { echo "version $v did not start: $(cat "$rel/app.log")" >&2; exit 1; }
  echo "version $v answers on unix:$state/run/$v.sock (pid $(cat "$rel/pid"))"
}

case "$cmd" in
up)
  front=$3; prom=$4
  mkdir -p "$state/nginx/logs" "$state/nginx/tmp" "$state/run" "$state/releases" "$state/prometheus/targets" "$state/prometheus/data"
  user=""
  if [ "$(id -u)" = 0 ]; then user="user root;"; fi
  cat > "$state/nginx/nginx.conf" <<CONF
$user
daemon on;
pid logs/nginx.pid;
error_log logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  include canary.conf;
  server {
    listen 127.0.0.1:$front;
    location / { proxy_pass http://\$app_upstream; }
  }
}
CONF
  if [ ! -f "$state/nginx/canary.conf" ]; then
    printf 'upstream app_stable {\n    server unix:%s/run/none.sock;\n}\nsplit_clients "$cookie_uid" $app_upstream {\n    * app_stable;\n}\n' "$state" > "$state/nginx/canary.conf"
  fi
  for rel in "$state"/releases/*/; do
    [ -d "$rel" ] || continue
    alive "$rel/pid" || start_version "$(basename "$rel")"
  done
  if alive "$state/nginx/logs/nginx.pid"; then
    $ng -t -q && $ng -s reload
    echo "nginx is running: http://127.0.0.1:$front/"
  else
    $ng
    echo "started nginx on http://127.0.0.1:$front/ (the sticky key is the uid cookie)"
  fi
  cat > "$state/prometheus/prometheus.yml" <<CONF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: app
    file_sd_configs: [{ files: ["$state/prometheus/targets/*.json"], refresh_interval: 1s }]
CONF
  if ! alive "$state/prometheus/pid"; then
    nohup prometheus --config.file="$state/prometheus/prometheus.yml" --storage.tsdb.path="$state/prometheus/data" \
      --web.listen-address="127.0.0.1:$prom" --storage.tsdb.retention.time=2h >"$state/prometheus/log" 2>&1 &
    echo $! > "$state/prometheus/pid"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$prom/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
    echo "started Prometheus on http://127.0.0.1:$prom/ (scraping every second, data in $state/prometheus/data)"
  else
    echo "Prometheus is running: http://127.0.0.1:$prom/"
  fi
  if ! alive "$state/load.pid"; then
    rm -f "$state/load.stop"
    nohup python3 "$here/canary_load.py" "http://127.0.0.1:$front/" 60 120 "$state/load.stop" 1000 >"$state/load.log" 2>&1 &
    echo $! > "$state/load.pid"
    echo "started a load generator: 60 requests a second as 1,000 users for 2 minutes (log: $state/load.log)"
  fi
  ;;
install)
  v=$3; broken=$4
  rel="$state/releases/$v"
  if alive "$rel/pid"; then kill "$(cat "$rel/pid")"; fi
  mkdir -p "$rel"
  cp "$here/canary_app.py" "$rel/app.py"
  printf '%s\n' "$broken" > "$rel/broken"
  start_version "$v"
  ;;
remove)
  v=$3
  rel="$state/releases/$v"
  if alive "$rel/pid"; then kill "$(cat "$rel/pid")"; fi
  rm -f "$state/prometheus/targets/$v.json" "$state/run/$v.sock"
  rm -rf "$rel"
  echo "version $v stopped and removed"
  ;;
down)
  touch "$state/load.stop"
  for pidfile in "$state"/releases/*/pid "$state/prometheus/pid" "$state/load.pid"; do
    if alive "$pidfile"; then kill "$(cat "$pidfile")"; fi
  done
  if alive "$state/nginx/logs/nginx.pid"; then $ng -s stop; fi
  echo "stopped everything under $state"
  ;;
*) echo "usage: canary.sh up|install|remove|down STATE ..." >&2; exit 2 ;;
esac
