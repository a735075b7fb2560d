#!/bin/sh
# benches/run_vs_ninja.sh [STAGES] [RUNS] — `deploy run` against ninja and
# make on the same layered DAG: STAGES nodes of `true`, each needing two
# earlier ones, run with 4 jobs. Prints each wall time and the ratios.
# Not a timed test; the numbers go to docs/performance.md.
set -eu
stages=${1:-2000}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
if [ ! -x "$deploy" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
if ! command -v ninja >/dev/null; then
  echo "ninja is missing: apt-get update && apt-get install -y ninja-build" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The DAG: layers of 8 nodes; node k of layer L (L > 0) needs nodes k and
# k+1 (mod 8) of layer L-1, so every node past the first layer needs two
# earlier ones and 8 are always ready: enough to keep 4 jobs busy.
awk -v n="$stages" -v work="$work" 'BEGIN {
  width = 8
  plan = work "/release.deploy"; ninja = work "/build.ninja"; make = work "/Makefile"
  print "pipeline \"bench\" {}" > plan
  print "rule run\n  command = true" > ninja
  printf "all:" > make
  for (i = 0; i < n; i++) printf " s%d", i > make
  printf "\n" > make
  for (i = 0; i < n; i++) {
    layer = int(i / width); k = i % width
    if (layer == 0) { deps = "" } else {
      a = (layer - 1) * width + k; b = (layer - 1) * width + (k + 1) % width
      deps = "s" a " s" b
    }
    if (deps == "") {
      printf "stage s%d { run \"true\"  irreversible = \"bench\" }\n", i > plan
    } else {
      d = deps; gsub(" ", ", ", d)
      printf "stage s%d { needs = [%s]  run \"true\"  irreversible = \"bench\" }\n", i, d > plan
    }
    printf "build s%d: run %s\n", i, deps > ninja
    printf "s%d: %s\n\ttrue\n", i, deps > make
  }
  print ".PHONY: all" > make
}'

now() { date +%s.%N; }
measure() { # name command...
  name=$1
  shift
  total=0
  for i in $(seq "$runs"); do
    (cd "$work" && rm -f .ninja_log .ninja_deps)
    start=$(now)
    (cd "$work" && "$@" >/dev/null 2>&1) || { echo "$name failed" >&2; exit 1; }
    end=$(now)
    t=$(echo "$end - $start" | bc)
    echo "$name run $i: ${t}s"
    total=$(echo "$total + $t" | bc)
  done
  mean=$(echo "scale=3; $total / $runs" | bc)
  echo "$name mean: ${mean}s"
  eval "mean_$name=$mean"
}

echo "$stages stages, $runs runs each, 4 jobs, $(nproc) cores"
measure ninja ninja -j4
measure make make -j4
measure deploy "$deploy" run release.deploy --max-parallel 4
measure deploy_json "$deploy" run release.deploy --max-parallel 4 --json
echo "deploy / ninja: $(echo "scale=2; $mean_deploy / $mean_ninja" | bc)"
echo "deploy / make:  $(echo "scale=2; $mean_deploy / $mean_make" | bc)"
echo "deploy --json / ninja: $(echo "scale=2; $mean_deploy_json / $mean_ninja" | bc)"
