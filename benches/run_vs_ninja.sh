#!/bin/sh
# benches/run_vs_ninja.sh [STAGES] [RUNS] — `deploy run` against ninja and
# make on the same layered DAG: STAGES nodes of `true`, each needing two
# earlier ones, run with 4 jobs, the tools in turn RUNS times (default 5).
# Prints each wall time, the medians and the ratios. deploy runs `true`
# directly (no shell syntax); `deploy_sh` forces `sh -c` for comparison.
# Not a timed test; the numbers go to docs/performance.md.
set -eu
stages=${1:-2000}
runs=${2:-5}
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
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Runs each tool once per round, in turn (ninja, make, deploy, ...), so a
# change in the machine's load hits every tool alike.
measure_once() { # name command...
  name=$1
  shift
  (cd "$work" && rm -f .ninja_log .ninja_deps)
  start=$(now)
  (cd "$work" && "$@" >/dev/null 2>&1) || { echo "$name failed" >&2; exit 1; }
  end=$(now)
  t=$(echo "$end - $start" | bc)
  printf '%-14s run %d: %6.3fs\n' "$name" "$i" "$t"
  echo "$t" >> "$work/$name.times"
}

echo "$stages stages, $runs runs each, 4 jobs, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  measure_once ninja ninja -j4
  measure_once make make -j4
  measure_once deploy "$deploy" run release.deploy --max-parallel 4
  measure_once deploy_json "$deploy" run release.deploy --max-parallel 4 --json
  measure_once deploy_sh env DEPLOY_DIRECT_EXEC=0 "$deploy" run release.deploy --max-parallel 4
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for name in ninja make deploy deploy_json deploy_sh; do
  eval "median_$name=$(median < "$work/$name.times")"
  eval "echo \"$name median: \${median_$name}s\""
done
echo "deploy / ninja: $(echo "scale=2; $median_deploy / $median_ninja" | bc)"
echo "deploy / make:  $(echo "scale=2; $median_deploy / $median_make" | bc)"
echo "deploy --json / make: $(echo "scale=2; $median_deploy_json / $median_make" | bc)"
echo "deploy, every step through sh -c (DEPLOY_DIRECT_EXEC=0) / make: $(echo "scale=2; $median_deploy_sh / $median_make" | bc)"
