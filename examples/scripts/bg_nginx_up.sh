#!/bin/sh
# bg_nginx_up.sh STATE FRONT_PORT DIRECT_PORT — starts the blue/green example's
# nginx once (later runs reload it): the front server on 127.0.0.1:FRONT_PORT
# proxies to the upstream in STATE/nginx/upstream.conf (std/nginx rewrites it);
# each colour is served on a unix socket from STATE/COLOUR/current (a
# std/release root); the direct server on 127.0.0.1:DIRECT_PORT serves
# /blue/ and /green/ so that a colour can be checked before it is live.
set -eu
mkdir -p "$1"
state=$(cd "$1" && pwd)
front=$2
direct=$3
mkdir -p "$state/nginx/logs" "$state/nginx/tmp" "$state/blue" "$state/green"
user=""
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
cat > "$state/nginx/nginx.conf" <<CONF
$user
daemon on;
pid logs/nginx.pid;
error_log logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  include upstream.conf;
  server {
    listen 127.0.0.1:$front;
    location / { proxy_pass http://app; add_header X-Upstream \$upstream_addr always; }
  }
  server {
    listen 127.0.0.1:$direct;
    location /blue/ { alias $state/blue/current/; }
    location /green/ { alias $state/green/current/; }
  }
  server { listen unix:$state/blue.sock; root $state/blue/current; }
  server { listen unix:$state/green.sock; root $state/green/current; }
}
CONF
if [ ! -f "$state/nginx/upstream.conf" ]; then
  printf 'upstream app {\n    server unix:%s/blue.sock;\n}\n' "$state" > "$state/nginx/upstream.conf"
fi
ng="nginx -p $state/nginx/ -c nginx.conf -e logs/error.log"
pid=$(cat "$state/nginx/logs/nginx.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  $ng -t -q
  $ng -s reload
  echo "nginx is running (pid $pid): http://127.0.0.1:$front/"
else
  rm -f "$state/blue.sock" "$state/green.sock"
  $ng
  echo "nginx started: http://127.0.0.1:$front/ (stop it with: $ng -s stop)"
fi
