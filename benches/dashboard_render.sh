#!/bin/sh
# benches/dashboard_render.sh [DEPLOYMENTS] [NODES] [TRIES] — how long
# `deploy serve` takes to render the dashboard's pages with a large history:
# a SQLite state with DEPLOYMENTS deployments (default 10000) of a NODES-node
# plan (default 500), one of them run for real (its journal and node rows).
# Times the overview `/`, the run page `/runs/ID` and `/history` over
# loopback with curl (the first request, then the median of TRIES), and
# nginx serving the same pages as static files of the same size as a peer.
# Not a timed test; the numbers go to docs/performance.md.
set -eu
count=${1:-10000}
nodes=${2:-500}
tries=${3:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
if [ ! -x "$deploy" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
work=$(mktemp -d)
server=""
nginx_pid=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The plan: NODES stages on one host, stage i needing i-1 and i/2.
awk -v n="$nodes" 'BEGIN {
  print "pipeline \"bench\" { max_parallel = 8 }"
  print "environment production { hosts = [\"web-1\"] }"
  for (i = 0; i < n; i++) {
    needs = ""
    if (i > 0) needs = "s" (i - 1)
    if (i > 1 && int(i / 2) != i - 1) needs = needs ", s" int(i / 2)
    printf "stage s%d { target = production ", i
    if (needs != "") printf " needs = [%s] ", needs
    printf " run \"echo step %d\"  rollback { run \"true\" } }\n", i
  }
}' > "$work/release.deploy"
echo "plan: $nodes stages; running it once for real..."
(cd "$work" && "$deploy" run release.deploy --yes > /dev/null)
db=$(find "$work/.deploy" -name '*.db' | head -1)

# The history: copies of that deployment, one a minute further back each.
python3 - "$db" "$count" <<'PY'
import sqlite3, sys
db, count = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
cols = [row[1] for row in con.execute("PRAGMA table_info(deployments)")]
changed = {"run_id": "printf('hist-%05d', n.i)", "version": "'v' || n.i",
           "started_at": "started_at - n.i * 60000", "heartbeat_at": "heartbeat_at - n.i * 60000",
           "ended_at": "ended_at - n.i * 60000"}
select = ", ".join(changed.get(col, col) for col in cols)
con.execute(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1})
  INSERT INTO deployments ({", ".join(cols)}) SELECT {select} FROM deployments, n
  WHERE deployments.run_id = (SELECT run_id FROM deployments LIMIT 1)""")
con.commit()
print("deployments in the state:", con.execute("SELECT count(*) FROM deployments").fetchone()[0])
PY
run_id=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT run_id FROM deployments WHERE run_id NOT LIKE 'hist-%'\").fetchone()[0])" "$db")
echo "state: $(du -h "$db" | cut -f1)"

(cd "$work" && "$deploy" serve release.deploy --listen 127.0.0.1:0 2> "$work/serve.err" > /dev/null) &
server=$!
for _ in $(seq 1 200); do
  grep -q "serving http://" "$work/serve.err" 2>/dev/null && break
  sleep 0.05
done
base=$(sed -n 's/.*serving \(http:\/\/[^/]*\).*/\1/p' "$work/serve.err" | head -1)

# `first median` in ms of TRIES GETs of $1 (after the first).
measure() {
  first=$(curl -s -o "$work/page" -w '%{time_total}' "$1")
  rest=$(for _ in $(seq 1 "$tries"); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done | sort -n)
  median=$(echo "$rest" | sed -n "$(( (tries + 1) / 2 ))p")
  printf '%6.1f ms first, %6.1f ms median, %s bytes' \
    "$(echo "$first * 1000" | bc -l)" "$(echo "$median * 1000" | bc -l)" "$(wc -c < "$work/page")"
}

echo "deploy serve ($base), $count deployments, a $nodes-node run:"
mkdir -p "$work/static/runs"
for path in / "/runs/$run_id" /history; do
  printf '  %-12s %s\n' "$(echo "$path" | cut -c1-12)" "$(measure "$base$path")"
  name=$(echo "$path" | tr '/' '_')
  cp "$work/page" "$work/static/page$name.html"
done

# The peer: nginx serving the same pages as static files.
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
       uwsgi_temp_path $work; scgi_temp_path $work;
       server { listen 127.0.0.1:$port; root $work/static; } }
CONF
  "$nginx_bin" -c "$work/nginx.conf" -e "$work/nginx.err" &
  nginx_pid=$!
  sleep 0.5
  echo "nginx, the same pages as static files:"
  for file in "$work"/static/*.html; do
    printf '  %-12s %s\n' "$(basename "$file" .html | cut -c1-12)" "$(measure "http://127.0.0.1:$port/$(basename "$file")")"
  done
fi
