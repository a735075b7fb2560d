set -eu
f=@{upstream_file}; to=@{to}; up=@{upstream}; nginx=@{nginx}
#@include ../nginx_reload.sh
if [ "$DEPLOY_ATTEMPT" = 1 ]; then
  if [ -f "$f" ]; then cp -p "$f" "$f.previous"; else rm -f "$f.previous"; fi
fi
printf 'upstream %s {\n    server %s;\n}\n' "$up" "$to" > "$f.tmp"
mv -f "$f.tmp" "$f"
if ! $nginx -t; then
  echo "std/nginx: nginx -t rejected the new upstream: putting the previous one back" >&2
  if [ -f "$f.previous" ]; then cp -p "$f.previous" "$f"; else rm -f "$f"; fi
  exit 1
fi
reload_nginx
echo "std/nginx: upstream $up -> $to, nginx reloaded"
