set -eu # std/container.build rollback: remove the tags this stage made
rt=@{runtime}; image=@{image}; tag=@{tag}; context=@{context}; archive=@{archive}; commit=@{commit}
[ -n "$commit" ] || commit=$(git -C "$context" rev-parse HEAD 2>/dev/null || true)
if $rt image inspect "$image:$tag" >/dev/null 2>&1; then $rt rmi "$image:$tag" >/dev/null && echo "std/container: removed the tag $image:$tag"; fi
if [ -n "$commit" ] && [ "$commit" != "$tag" ] && $rt image inspect "$image:$commit" >/dev/null 2>&1; then $rt rmi "$image:$commit" >/dev/null && echo "std/container: removed the tag $image:$commit"; fi
[ -z "$archive" ] || rm -f "$archive"
# A pushed tag is removed from the registry too: the registry deletes a
# manifest (every tag of that image), so only when no other tag of the
# repository is the same image; this build's commit tag goes with it.
push=@{push}
if [ "$push" = true ]; then
  say() { echo "std/container: $*"; }
  reg=${image%%/*}; repo=${image#*/}
  case $image in */*) ;; *) reg='' ;; esac
  case $reg in *.*|*:*|localhost) ;; *) reg='' ;; esac
  accept='Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
  base=''
  if [ -z "$reg" ]; then
    say "the registry keeps $image:$tag: $image names no registry host"
  elif ! command -v curl >/dev/null 2>&1; then
    say "the registry keeps $image:$tag: curl is not installed here"
  elif curl -sf -o /dev/null -m 5 "https://$reg/v2/"; then base="https://$reg"
  elif curl -sf -o /dev/null -m 5 "http://$reg/v2/"; then base="http://$reg"
  else say "the registry keeps $image:$tag: $reg does not answer without credentials"
  fi
  if [ -n "$base" ]; then
    digest_of() { curl -sfI -m 5 -H "$accept" "$base/v2/$repo/manifests/$1" | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'; }
    d=$(digest_of "$tag" || true)
    if [ -z "$d" ]; then
      say "the registry has no $image:$tag"
    else
      shared=''
      for t in $(curl -sf -m 5 "$base/v2/$repo/tags/list" | sed 's/.*"tags":\[//; s/\].*//; s/[",]/ /g'); do
        if [ "$t" = "$tag" ] || [ "$t" = "$commit" ]; then continue; fi
        if [ "$(digest_of "$t" || true)" = "$d" ]; then shared="$shared $t"; fi
      done
      if [ -n "$shared" ]; then
        say "the registry keeps $image:$tag: the same image is also tagged$shared"
      elif curl -sf -m 10 -X DELETE -H "$accept" "$base/v2/$repo/manifests/$d" >/dev/null; then
        say "removed $image:$tag${commit:+ (and $image:$commit, the same image)} from the registry"
      else
        say "the registry did not delete $image:$tag (a registry deletes only with storage.delete.enabled)"
      fi
    fi
  fi
fi
