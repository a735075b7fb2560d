#!/bin/sh
# tests/support/postgres.sh [start|stop|url] — a throwaway PostgreSQL for the
# state tests, on a loopback port, in a data directory of its own.
#
#   start (default): installs PostgreSQL from Debian packages when it is
#                    missing, creates the cluster once, starts it if it is not
#                    running, and prints the connection URL on stdout
#                    (use it as DEPLOY_TEST_POSTGRES). Idempotent.
#   stop:            stops the server (the data directory stays).
#   url:             prints the URL only.
#
# Environment: DEPLOY_PG_DIR (default /tmp/deploy-test-postgres),
# DEPLOY_PG_PORT (default 54329). Runs the server as the `postgres` user
# when started as root, as the current user otherwise.
set -eu
action=${1:-start}
dir=${DEPLOY_PG_DIR:-/tmp/deploy-test-postgres}
port=${DEPLOY_PG_PORT:-54329}
url="postgres://postgres@127.0.0.1:$port/postgres"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  for candidate in "$(command -v pg_ctl 2>/dev/null || true)" /usr/lib/postgresql/*/bin/pg_ctl; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      # /usr/local/bin/pg_ctl may be a lone symlink: use the real bin directory.
      dirname "$(readlink -f "$candidate")"
      return 0
    fi
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

case $action in
  url)
    echo "$url"
    exit 0
    ;;
  stop)
    if bin=$(find_bin) && [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >&2 || true
    fi
    exit 0
    ;;
  start) ;;
  *)
    echo "usage: $0 [start|stop|url]" >&2
    exit 2
    ;;
esac

if ! bin=$(find_bin); then
  log "installing PostgreSQL from Debian packages"
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is missing and installing it needs root"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir "$dir" --shell /bin/sh postgres
fi
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
fi

if [ ! -f "$dir/data/PG_VERSION" ]; then
  log "creating a cluster in $dir/data"
  as_owner "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust --no-sync -E UTF8" >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = off"
    echo "max_connections = 200"
  } >>"$dir/data/postgresql.conf"
fi

if ! as_owner "'$bin/pg_ctl' -D '$dir/data' status" >/dev/null 2>&1; then
  log "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 start" >/dev/null
fi

# Wait until it accepts connections.
tries=0
until "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; do
  tries=$((tries + 1))
  if [ "$tries" -gt 60 ]; then
    log "PostgreSQL did not come up; see $dir/server.log"
    exit 1
  fi
  sleep 0.5
done
echo "$url"
