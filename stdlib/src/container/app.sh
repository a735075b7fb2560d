switch=@{switch}; envs=@{vars}; volumes=@{volumes}; labels=@{labels}; options=@{options}; restart=@{restart}; memory=@{memory}; cpus=@{cpus}
if [ "$live" = "$new" ]; then old=$(cat "$sd/previous" 2>/dev/null || true); else old=$live; fi
if ! $rt image inspect "$ref" >/dev/null 2>&1; then say "pulling $ref"; $rt pull -q "$ref" >/dev/null || die "could not pull $ref"; fi
port=''
if [ "$($rt inspect -f '{{index .Config.Labels "deploy.version"}}' "$new" 2>/dev/null || true)" = "$v" ] && [ -n "$(port_of "$new")" ]; then
  port=$(port_of "$new")
  if running "$new"; then say "$new is already running on 127.0.0.1:$port"; else $rt start "$new" >/dev/null; say "started the kept $new again on 127.0.0.1:$port"; fi
else
  $rt rm -f "$new" >/dev/null 2>&1 || true
  used=''; for c in $($rt ps -aq --filter label=deploy.port); do used="$used $(port_of "$c")"; done; used=$(printf '%s\n' $used)
  lo=${ports%-*}; hi=${ports#*-}; p=$lo
  while [ "$p" -le "$hi" ]; do
    if ! printf '%s\n' "$used" | grep -qx "$p"; then
      if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$p" | grep -q . || { port=$p; break; }
      elif ! timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$p" 2>/dev/null; then port=$p; break; fi
    fi
    p=$((p + 1))
  done
  [ -n "$port" ] || die "no free port in $ports on this host"
  nl='
'
  set -f; IFS=$nl
  set -- run -d --name "$new" --label "deploy.app=$name" --label "deploy.version=$v" --label "deploy.port=$port" --restart "$restart"
  if [ "$network" = host ]; then set -- "$@" --network host -e "PORT=$port"; else set -- "$@" --network "$network" -p "127.0.0.1:$port:$cport" -e "PORT=$cport"; fi
  for x in $volumes; do set -- "$@" -v "$x"; done
  for x in $labels; do set -- "$@" --label "$x"; done
  [ -z "$memory" ] || set -- "$@" --memory "$memory"
  [ -z "$cpus" ] || set -- "$@" --cpus "$cpus"
  for x in $options; do set -- "$@" "$x"; done
  IFS=' 	'"$nl"; set +f
  ef=$(umask 077; mktemp "${TMPDIR:-/tmp}/deploy-env.XXXXXX")
  ( trap 'rm -f "$ef"' EXIT INT TERM; if [ -n "$envs" ]; then printf '%s\n' "$envs" > "$ef"; fi; $rt "$@" --env-file "$ef" "$ref" >/dev/null ) || die "$rt run of $new failed"
  say "started $new ($ref) on 127.0.0.1:$port beside ${old:-nothing}"
fi
if ! wait_healthy "$new" "$port"; then
  [ "$new" = "$live" ] || $rt rm -f "$new" >/dev/null 2>&1 || true
  die "$new never received a request: the proxy still sends to ${old:-nothing}"
fi
if [ "$switch" != true ]; then
  write_switch
  say "$new is healthy on 127.0.0.1:$port beside ${old:-nothing}; the router (container.split) or $sd/switch $v moves the traffic"
  exit 0
fi
switch_to "$port"
if [ "$live" != "$new" ]; then remember previous "$live"; remember live "$new"; fi
if [ -n "$old" ] && running "$old"; then
  d=$(secs "$drain"); say "draining $old for ${d}s"; sleep "$d"
  $rt stop -t "$(secs "$stop_timeout")" "$old" >/dev/null; say "stopped $old (kept for rollback)"
fi
for c in $($rt ps -a --filter "label=deploy.app=$name" --format '{{.Names}}'); do
  if [ "$c" != "$new" ] && [ "$c" != "$old" ]; then $rt rm -f "$c" >/dev/null; say "removed the old container $c"; fi
done
inuse=$($rt ps -a --filter "label=deploy.app=$name" --format '{{.Image}}')
n=0
for t in $($rt images "$image" --format '{{.Tag}}'); do
  [ "$t" != '<none>' ] || continue
  if printf '%s\n' "$inuse" | grep -qxF "$image:$t"; then n=$((n + 1)); continue; fi
  n=$((n + 1))
  if [ "$n" -gt "$keep" ]; then $rt rmi "$image:$t" >/dev/null 2>&1 && say "removed the old image $image:$t" || true; fi
done
say "$name $v serves on 127.0.0.1:$port"
