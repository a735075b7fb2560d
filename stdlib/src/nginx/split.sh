set -eu
f=@{config}; st=@{stable}; ca=@{canary}; w=@{weight}; sticky=@{sticky}; up=@{upstream}; nginx=@{nginx}
#@include ../nginx_reload.sh
case "$sticky" in
  cookie:*) key="\$cookie_$(printf %s "$sticky" | sed 's/^cookie://')" ;;
  header:*) key="\$http_$(printf %s "$sticky" | sed 's/^header://' | tr 'A-Z-' 'a-z_')" ;;
  client) key='$remote_addr' ;;
  *) echo "std/nginx: sticky must be cookie:NAME, header:NAME or client, not $sticky" >&2; exit 2 ;;
esac
case "$w" in
  100|100.0) st="$ca"; line="    * $up""_canary;"; mid="" ;;
  0|0.0) line="    * $up""_stable;"; mid="" ;;
  *) line="    * $up""_stable;"; mid="    $w% $up""_canary;" ;;
esac
{
  printf 'upstream %s_stable {\n    server %s;\n}\n' "$up" "$st"
  printf 'upstream %s_canary {\n    server %s;\n}\n' "$up" "$ca"
  printf 'split_clients "%s" $%s_upstream {\n' "$key" "$up"
  if [ -n "$mid" ]; then printf '%s\n' "$mid"; fi
  printf '%s\n}\n' "$line"
} > "$f.tmp"
if [ -f "$f" ]; then cp -p "$f" "$f.previous"; else rm -f "$f.previous"; fi
mv -f "$f.tmp" "$f"
if ! $nginx -t -q; then
  echo "std/nginx: nginx -t rejected the new split: putting the previous one back" >&2
  if [ -f "$f.previous" ]; then cp -p "$f.previous" "$f"; else rm -f "$f"; fi
  exit 1
fi
reload_nginx
echo "std/nginx: $w% of requests to $ca, sticky by $key; nginx reloaded"
