set -eu # std/container.build: build, tag, push or save
rt=@{runtime}; image=@{image}; tag=@{tag}; context=@{context}; file=@{dockerfile}; push=@{push}; archive=@{archive}; commit=@{commit}; build_args=@{build_args}
say() { echo "std/container: $*"; }
[ -n "$commit" ] || commit=$(git -C "$context" rev-parse HEAD 2>/dev/null || true)
[ -n "$file" ] || file="$context/Dockerfile"
nl='
'
set -f; IFS=$nl
set -- build -q -f "$file" -t "$image:$tag"
[ -z "$commit" ] || [ "$commit" = "$tag" ] || set -- "$@" -t "$image:$commit"
for x in $build_args; do set -- "$@" --build-arg "$x"; done
IFS=' 	'"$nl"; set +f
id=$($rt "$@" "$context") || { echo "std/container: $rt build of $image:$tag failed" >&2; exit 1; }
say "built $image:$tag${commit:+ and $image:$commit} ($id)"
if [ "$push" = true ]; then
  $rt push -q "$image:$tag" >/dev/null || { echo "std/container: could not push $image:$tag" >&2; exit 1; }
  say "pushed $image:$tag"
  if [ -n "$commit" ] && [ "$commit" != "$tag" ]; then $rt push -q "$image:$commit" >/dev/null && say "pushed $image:$commit"; fi
fi
if [ -n "$archive" ]; then
  mkdir -p "$(dirname "$archive")"
  $rt save -o "$archive.tmp" "$image:$tag" && mv -f "$archive.tmp" "$archive"
  say "saved $image:$tag to $archive ($(wc -c < "$archive") bytes), to be loaded on each host"
fi
