rt=@{runtime}; name=@{name}; state=@{state}; config=@{config}; upstream=@{upstream}; nginx=@{nginx}; sticky=@{sticky}; w=@{weight}
proxy=@{proxy}; haproxy_admin=@{haproxy_admin}; haproxy_backend=@{haproxy_backend}
health=@{health}; health_timeout=@{health_timeout}; v=@{version}; pv=@{previous_version}
sd="$state/$name"; canary="$name-$v"; stable="$name-$pv"
mkdir -p "$sd"
case $proxy in
  nginx) [ -n "$config" ] || die "proxy = \"nginx\" needs config (the file nginx includes for the split)"
    case $sticky in
      cookie:*) key="\$cookie_${sticky#cookie:}" ;;
      header:*) key="\$http_$(printf %s "${sticky#header:}" | tr 'A-Z-' 'a-z_')" ;;
      client) key='$remote_addr' ;;
      *) die "sticky must be cookie:NAME, header:NAME or client, not $sticky" ;;
    esac ;;
  haproxy) key="the backend's hash (balance ... / hash-type consistent)" ;;
  *) die "proxy must be nginx or haproxy, not $proxy" ;;
esac
up_port() {
  $rt inspect "$1" >/dev/null 2>&1 || return 1
  running "$1" || { $rt start "$1" >/dev/null; say "started the kept $1 again"; }
  p=$(port_of "$1"); wait_healthy "$1" "$p" >/dev/null || return 1
  printf %s "$p"
}
case $w in 0|0.0) share=0 ;; 100|100.0) share=100 ;; *) share=$w ;; esac
cp=''; sp=''
if [ "$share" != 0 ]; then cp=$(up_port "$canary") || die "$canary is not running and healthy here"; fi
if [ "$share" != 100 ]; then
  if [ -n "$pv" ] && sp=$(up_port "$stable"); then :; else
    [ "$share" = 0 ] && { say "no previous container $stable here: nothing to send the traffic back to"; exit 0; }
    say "no previous container $stable here: every request to $canary"; share=100; sp=$cp
  fi
fi
[ -n "$sp" ] || sp=$cp
[ -n "$cp" ] || cp=$sp
if [ "$proxy" = haproxy ]; then
  # The canary's share of HAProxy's weight range (canary + stable = 256):
  # under consistent hashing its points on the ring only grow with it.
  cw=$(( (share * 256 + 50) / 100 )); sw=$((256 - cw)); be=$haproxy_backend
  haproxy_say "set server $be/stable addr 127.0.0.1 port $sp; set server $be/canary addr 127.0.0.1 port $cp; enable server $be/stable; enable server $be/canary; set server $be/canary weight $cw; set server $be/stable weight $sw" >/dev/null
  got=$(haproxy_say "get weight $be/canary")
  case $got in "$cw "*) ;; *) die "HAProxy's weight of $be/canary is ${got:-nothing}, not $cw" ;; esac
fi
if [ "$proxy" = nginx ]; then
  case $share in
    100) line="    * ${upstream}_canary;"; mid='' ;;
    0) line="    * ${upstream}_stable;"; mid='' ;;
    *) line="    * ${upstream}_stable;"; mid="    $share% ${upstream}_canary;" ;;
  esac
  {
    printf 'upstream %s_stable {\n    server 127.0.0.1:%s;\n}\n' "$upstream" "$sp"
    printf 'upstream %s_canary {\n    server 127.0.0.1:%s;\n}\n' "$upstream" "$cp"
    printf 'split_clients "%s" $%s_upstream {\n' "$key" "$upstream"
    [ -z "$mid" ] || printf '%s\n' "$mid"
    printf '%s\n}\n' "$line"
  } > "$config.tmp"
  install_nginx "$config" "the split"
  how="sticky by $key; nginx reloaded"
else
  how="weights $cw/$sw read back from HAProxy"
fi
case $share in
  100) if [ "$(cat "$sd/live" 2>/dev/null || true)" != "$canary" ]; then
         if [ "$sp" = "$cp" ]; then remember previous ''; else remember previous "$stable"; fi
         remember live "$canary"
       fi ;;
  0) remember live "$stable" ;;
esac
say "$share% of requests to $canary (127.0.0.1:$cp), the rest to ${pv:+$stable }(127.0.0.1:$sp), $how"
