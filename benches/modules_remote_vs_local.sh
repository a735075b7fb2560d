#!/usr/bin/env bash
# Benchmark: `deploy check` on a plan that imports 20 modules from 5 git
# repositories (`git+file://…`, resolved through deploy.lock, warm cache)
# side by side with the same plan importing the same 20 files locally
# (`./mods/…`). Also times a cold `deploy modules fetch` of the 20 modules.
# Results are recorded in docs/performance.md (target: remote within 10% of local).
#
# usage: benches/modules_remote_vs_local.sh [RUNS]
#   DEPLOY_BIN=PATH  time that binary (e.g. a debug build) instead of building a release one
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
if [ -n "${DEPLOY_BIN:-}" ]; then
  deploy=$DEPLOY_BIN
else
  cargo build --release --quiet
  deploy=${CARGO_TARGET_DIR:-$PWD/target}/release/deploy
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME=$work/cache

mkdir -p "$work/local/mods" "$work/remote"
remote_imports=""
local_imports=""
stages=""
for repo in 1 2 3 4 5; do
  src=$work/src$repo
  mkdir -p "$src/web"
  for module in 1 2 3 4; do
    n=$(( (repo - 1) * 4 + module ))
    file="web/m$n.deploy"
    {
      echo "/// Module $n."
      for t in 1 2 3 4 5; do
        echo "/// Template $t of module $n."
        echo "template stage t$t(version: string, root: string = \"/tmp\") {"
        echo "  run \"echo m$n t$t \${version} \${root}\""
        echo "  rollback { run \"echo undo m$n t$t\" }"
        echo "}"
      done
    } > "$src/$file"
    cp "$src/$file" "$work/local/mods/m$n.deploy"
    remote_imports+="import \"git+file://$work/repo$repo.git//$file@v1\" as m$n"$'\n'
    local_imports+="import \"./mods/m$n.deploy\" as m$n"$'\n'
    stages+="stage s$n from m$n.t1 { version = version }"$'\n'
  done
  (cd "$src" && git init -q -b main . && git add -A && git -c user.name=b -c user.email=b@b commit -q -m v1 && git tag v1.0.0)
  git clone -q --bare "$src" "$work/repo$repo.git"
done
head='pipeline "bench" {}'$'\n''param version: string = "1"'$'\n'
printf '%s%s%s' "$remote_imports" "$head" "$stages" > "$work/remote/plan.deploy"
printf '%s%s%s' "$local_imports" "$head" "$stages" > "$work/local/plan.deploy"

start=$(date +%s.%N)
(cd "$work/remote" && "$deploy" modules fetch plan.deploy >/dev/null 2>&1)
end=$(date +%s.%N)
printf 'cold fetch of 20 modules from 5 repositories: %.2f s\n' "$(echo "$end - $start" | bc -l)"

(cd "$work/remote" && "$deploy" check plan.deploy >/dev/null)
(cd "$work/local" && "$deploy" check plan.deploy >/dev/null)
farm-bench -n "$runs" --vs "$deploy check $work/local/plan.deploy" -- "$deploy" check "$work/remote/plan.deploy"
