if [ "$live" != "$new" ]; then
  if $rt inspect "$new" >/dev/null 2>&1; then $rt rm -f "$new" >/dev/null; say "removed $new: ${live:-nothing} is live here"; else say "$new is not live here: nothing to undo"; fi
  exit 0
fi
prev=$(cat "$sd/previous" 2>/dev/null || true)
if [ -z "$prev" ]; then
  $rt rm -f "$new" >/dev/null 2>&1 || true; remember live ''
  say "$new was the first release here: removed it"; exit 0
fi
$rt inspect "$prev" >/dev/null 2>&1 || die "the previous container $prev is gone: cannot switch back"
running "$prev" || { $rt start "$prev" >/dev/null; say "started $prev again"; }
port=$(port_of "$prev")
wait_healthy "$prev" "$port" || die "$prev is not healthy: staying on $new"
switch_to "$port"
remember previous ''; remember live "$prev"
d=$(secs "$drain"); say "draining $new for ${d}s"; sleep "$d"
$rt rm -f "$new" >/dev/null; say "removed $new; $prev serves on 127.0.0.1:$port"
