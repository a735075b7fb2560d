# reload_nginx: `$nginx -s reload`, then waits (at most 10 s) until the
# workers that ran the configuration before have left. A reload is
# graceful: the old workers finish their requests, and until they have
# seen the master's signal (it waits 100 ms after starting the new ones)
# they still accept connections with the old configuration. A step that
# reads the result back, or removes what the old configuration sent to,
# waits for them. The master is found through its pid file, as `nginx -s`
# finds it: the `pid` directive, else nginx's compiled-in path, relative
# to the prefix (`-p`, else nginx's compiled-in prefix).
nginx_pid_file() {
  npf=$($nginx -T 2>/dev/null | sed -n 's/^[[:space:]]*pid[[:space:]][[:space:]]*\([^;[:space:]]*\)[[:space:]]*;.*/\1/p' | head -n 1)
  nv=$($nginx -V 2>&1 || true)
  [ -n "$npf" ] || npf=$(printf '%s\n' "$nv" | sed -n 's/.*--pid-path=\([^[:space:]]*\).*/\1/p')
  [ -n "$npf" ] || npf=logs/nginx.pid
  case $npf in
    /*) ;;
    *)
      npre=$(printf ' %s \n' "$nginx" | sed -n 's/.*[[:space:]]-p[[:space:]][[:space:]]*\([^[:space:]]*\).*/\1/p')
      [ -n "$npre" ] || npre=$(printf '%s\n' "$nv" | sed -n 's/.*--prefix=\([^[:space:]]*\).*/\1/p')
      [ -n "$npre" ] || npre=/usr/local/nginx
      npf=${npre%/}/$npf ;;
  esac
  printf '%s\n' "$npf"
}
reload_nginx() {
  nmaster=$(cat "$(nginx_pid_file)" 2>/dev/null || true)
  nold=''
  if [ -n "$nmaster" ]; then
    nold=$(ps -e -o pid= -o ppid= 2>/dev/null | awk -v m="$nmaster" '$2 == m { print $1 }' || true)
  fi
  $nginx -s reload
  ntries=0
  while [ -n "$nold" ]; do
    nleft=''
    for nw in $nold; do if [ -d "/proc/$nw" ]; then nleft="$nleft $nw"; fi; done
    [ -n "$nleft" ] || return 0
    ntries=$((ntries + 1))
    if [ "$ntries" -ge 100 ]; then
      echo "nginx: the workers from before the reload (pid$nleft) still run after 10 s: they finish long requests, or the reload failed (see nginx's error log)" >&2
      return 0
    fi
    sleep 0.1
  done
}
