# STATE/NAME/switch VERSION: makes NAME-VERSION the live container — started
# again if it was stopped, healthy first — switches the proxy to it, then
# drains and stops the container that was live (kept, for a switch back).
v=${1:-}
case $v in ''|*[!A-Za-z0-9_.-]*|[!A-Za-z0-9]*) die "usage: $0 VERSION (NAME-VERSION becomes the live container)" ;; esac
target="$name-$v"
live=$(cat "$sd/live" 2>/dev/null || true)
$rt inspect "$target" >/dev/null 2>&1 || die "$target is not on this host: the proxy still sends to ${live:-nothing}"
running "$target" || { $rt start "$target" >/dev/null; say "started the kept $target again"; }
port=$(port_of "$target")
wait_healthy "$target" "$port" || die "$target is not healthy: the proxy still sends to ${live:-nothing}"
switch_to "$port"
if [ "$live" != "$target" ]; then
  remember previous "$live"; remember live "$target"
  if [ -n "$live" ] && running "$live"; then
    d=$(secs "$drain"); say "draining $live for ${d}s"; sleep "$d"
    $rt stop -t "$(secs "$stop_timeout")" "$live" >/dev/null; say "stopped $live (kept for a switch back)"
  fi
fi
say "$target serves on 127.0.0.1:$port"
