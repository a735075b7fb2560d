set -eu # std/container.logs: the live container's last lines
rt=@{runtime}; name=@{name}; state=@{state}; lines=@{lines}; since=@{since}
c=$(cat "$state/$name/live" 2>/dev/null || true)
[ -n "$c" ] || { echo "std/container: no live container of $name on this host" >&2; exit 1; }
if [ -n "$since" ]; then $rt logs --tail "$lines" --since "$since" "$c" 2>&1; else $rt logs --tail "$lines" "$c" 2>&1; fi
