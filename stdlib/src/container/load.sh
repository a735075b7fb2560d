set -eu # std/container.load: docker load the uploaded image
rt=@{runtime}; file=@{to}
out=$($rt load -q -i "$file") || { echo "std/container: $rt load of $file failed" >&2; exit 1; }
rm -f "$file"
echo "std/container: $out"
