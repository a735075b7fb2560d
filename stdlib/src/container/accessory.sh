set -eu # std/container.accessory: start it unless it runs
rt=@{runtime}; name=@{name}; image=@{image}; network=@{network}; envs=@{vars}; volumes=@{volumes}; publish=@{publish}; options=@{options}; cmd=@{cmd}; restart=@{restart}
say() { echo "std/container: $*"; }
if $rt inspect "$name" >/dev/null 2>&1; then
  if [ "$($rt inspect -f '{{.State.Running}}' "$name")" = true ]; then say "accessory $name is running: left alone"; exit 0; fi
  $rt start "$name" >/dev/null; say "accessory $name was stopped: started it again"; exit 0
fi
if ! $rt image inspect "$image" >/dev/null 2>&1; then say "pulling $image"; $rt pull -q "$image" >/dev/null || { echo "std/container: could not pull $image" >&2; exit 1; }; fi
nl='
'
set -f; IFS=$nl
set -- run -d --name "$name" --label "deploy.accessory=$name" --label "deploy.run=${DEPLOY_RUN_ID:-}" --restart "$restart" --network "$network"
for x in $volumes; do set -- "$@" -v "$x"; done
for x in $publish; do set -- "$@" -p "$x"; done
for x in $options; do set -- "$@" "$x"; done
ef=$(umask 077; mktemp "${TMPDIR:-/tmp}/deploy-env.XXXXXX")
set -- "$@" --env-file "$ef" "$image"
for x in $cmd; do set -- "$@" "$x"; done
IFS=' 	'"$nl"; set +f
( trap 'rm -f "$ef"' EXIT INT TERM; if [ -n "$envs" ]; then printf '%s\n' "$envs" > "$ef"; fi; $rt "$@" >/dev/null ) || { echo "std/container: $rt run of the accessory $name failed" >&2; exit 1; }
say "started the accessory $name ($image)"
