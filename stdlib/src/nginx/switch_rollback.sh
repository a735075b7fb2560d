set -eu
f=@{upstream_file}; nginx=@{nginx}
#@include ../nginx_reload.sh
if [ ! -f "$f.previous" ]; then
  echo "std/nginx: there was no upstream file before the switch: nothing to switch back to" >&2
  exit 1
fi
cp -p "$f.previous" "$f.tmp"
mv -f "$f.tmp" "$f"
$nginx -t
reload_nginx
echo "std/nginx: upstream switched back to $(grep -o 'server [^;]*' "$f"), nginx reloaded"
