set -eu # std/container.exec: a command in the live container
rt=@{runtime}; name=@{name}; state=@{state}; command=@{command}
c=$(cat "$state/$name/live" 2>/dev/null || true)
[ -n "$c" ] || { echo "std/container: no live container of $name on this host" >&2; exit 1; }
nl='
'
set -f; IFS=$nl; set -- exec "$c"
for x in $command; do set -- "$@" "$x"; done
IFS=' 	'"$nl"; set +f
$rt "$@"
