secs() {
  t=$1; total=0; num=''
  while [ -n "$t" ]; do
    c=${t%"${t#?}"}; t=${t#?}
    case $c in
      [0-9]) num=$num$c ;;
      m) if [ "${t%"${t#?}"}" = s ]; then t=${t#?}; total=$((total + (num + 999) / 1000)); else total=$((total + num * 60)); fi; num='' ;;
      s) total=$((total + num)); num='' ;;
      h) total=$((total + num * 3600)); num='' ;;
      d) total=$((total + num * 86400)); num='' ;;
    esac
  done
  echo "$total"
}
say() { echo "std/container: $*"; }
die() { echo "std/container: $*" >&2; exit 1; }
status_of() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
  else
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3; read -r _ code _ <&3; printf %s "$code"' "$1" "$2" 2>/dev/null || true
  fi
}
running() { [ "$($rt inspect -f '{{.State.Running}}' "$1" 2>/dev/null || true)" = true ]; }
port_of() { $rt inspect -f '{{index .Config.Labels "deploy.port"}}' "$1" 2>/dev/null || true; }
wait_healthy() {
  c=$1; p=$2; deadline=$(( $(date +%s) + $(secs "$health_timeout") ))
  while :; do
    if ! running "$c"; then
      $rt logs --tail 20 "$c" >&2 2>&1 || true
      echo "std/container: $c stopped before it was healthy" >&2; return 1
    fi
    if [ -n "$health" ]; then
      got=$(status_of "$p" "$health")
      [ "$got" != 200 ] || { say "$c answers 200 on 127.0.0.1:$p$health"; return 0; }
    else
      hs=$($rt inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c" 2>/dev/null || true)
      case $hs in
        healthy) say "$c is healthy (its HEALTHCHECK)"; return 0 ;;
        none) say "$c is running (its image has no HEALTHCHECK)"; return 0 ;;
        unhealthy) echo "std/container: $c is unhealthy (its HEALTHCHECK)" >&2; return 1 ;;
      esac
      got=$hs
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      $rt logs --tail 20 "$c" >&2 2>&1 || true
      echo "std/container: $c was not healthy within $health_timeout (last answer: ${got:-none})" >&2; return 1
    fi
    sleep 0.2
  done
}
# install_nginx FILE WHAT: FILE.tmp replaces FILE (kept as FILE.previous),
# nginx checks it and reloads; a configuration nginx rejects is put back.
# FILE may already say so (a step that was stopped before it reloaded
# nginx): reload all the same, nginx may run the old one.
install_nginx() {
  if [ -f "$1" ] && cmp -s "$1.tmp" "$1"; then
    rm -f "$1.tmp"
  else
    if [ -f "$1" ]; then cp -p "$1" "$1.previous"; fi
    mv -f "$1.tmp" "$1"
  fi
  if ! $nginx -t -q; then
    if [ -f "$1.previous" ]; then cp -p "$1.previous" "$1"; fi
    die "nginx -t rejected $2: the previous one is back"
  fi
  reload_nginx
}
#@include ../nginx_reload.sh
# haproxy_say COMMANDS: sends COMMANDS (`;`-separated) to HAProxy's runtime
# API at $haproxy_admin (bash's /dev/tcp) and prints the answer; an answer
# that refuses one of them fails the step with it.
haproxy_say() {
  out=$(bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "%s\n" "$2" >&3; cat <&3' "${haproxy_admin%:*}" "${haproxy_admin##*:}" "$1") || die "the HAProxy admin socket $haproxy_admin did not answer"
  if printf '%s' "$out" | grep -qiE 'unknown|no such|not found|invalid|require'; then die "HAProxy refused: $out"; fi
  printf '%s\n' "$out"
}
switch_to() {
  p=$1
  case $proxy in
    nginx)
      [ -n "$upstream_file" ] || die "proxy = \"nginx\" needs upstream_file"
      printf 'upstream %s {\n    server 127.0.0.1:%s;\n}\n' "$upstream" "$p" > "$upstream_file.tmp"
      install_nginx "$upstream_file" "the upstream 127.0.0.1:$p"
      say "nginx: upstream $upstream -> 127.0.0.1:$p, reloaded" ;;
    haproxy)
      haproxy_say "set server $haproxy_server addr 127.0.0.1 port $p; enable server $haproxy_server" >/dev/null
      say "haproxy: $haproxy_server -> 127.0.0.1:$p" ;;
    none) say "no proxy: 127.0.0.1:$p serves" ;;
    *) die "proxy must be nginx, haproxy or none, not $proxy" ;;
  esac
}
remember() { printf '%s\n' "$2" > "$sd/$1.tmp"; mv -f "$sd/$1.tmp" "$sd/$1"; }
