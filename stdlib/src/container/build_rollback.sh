set -eu # std/container.build rollback: remove the tags this stage made
rt=@{runtime}; image=@{image}; tag=@{tag}; context=@{context}; archive=@{archive}; commit=@{commit}
[ -n "$commit" ] || commit=$(git -C "$context" rev-parse HEAD 2>/dev/null || true)
if $rt image inspect "$image:$tag" >/dev/null 2>&1; then $rt rmi "$image:$tag" >/dev/null && echo "std/container: removed the tag $image:$tag"; fi
if [ -n "$commit" ] && [ "$commit" != "$tag" ] && $rt image inspect "$image:$commit" >/dev/null 2>&1; then $rt rmi "$image:$commit" >/dev/null && echo "std/container: removed the tag $image:$commit"; fi
[ -z "$archive" ] || rm -f "$archive"
