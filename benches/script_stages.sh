#!/bin/sh
# benches/script_stages.sh [STAGES] [RUNS] — `deploy run` over STAGES stages
# whose only step is a tiny Rhai `script` (benches/generate.py --script: each
# stage needs up to two earlier ones), against the same graph with a
# `run "true"` step per stage (a process each) as the peer. Prints wall times
# and stages/second. Not a timed test; the numbers go to docs/performance.md.
set -eu
stages=${1:-10000}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
if [ ! -x "$deploy" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/benches/generate.py" "$work/script" "$stages" --script
python3 "$root/benches/generate.py" "$work/process" "$stages" --command true
# The process peer: `run "true"` without the retry/timeout/rollback noise.
sed -i -e '/timeout = 10m/d' -e '/retry = 2 every 10s/d' -e 's/  rollback { run .*/  irreversible = "benchmark"/' "$work/process/plan.deploy"

now() { date +%s.%N; }
measure() { # name dir args...
  name=$1
  dir=$2
  shift 2
  total=0
  for i in $(seq "$runs"); do
    start=$(now)
    (cd "$dir" && "$deploy" run plan.deploy "$@" >/dev/null 2>&1) || { echo "$name failed" >&2; exit 1; }
    end=$(now)
    t=$(echo "$end - $start" | bc)
    echo "$name run $i: ${t}s ($(echo "scale=0; $stages / $t" | bc) stages/s)"
    total=$(echo "$total + $t" | bc)
  done
  mean=$(echo "scale=3; $total / $runs" | bc)
  echo "$name mean: ${mean}s = $(echo "scale=0; $stages / $mean" | bc) stages/s"
}

echo "$stages stages, $runs runs each, $(nproc) cores"
measure script "$work/script" --json
measure script_plain "$work/script"
measure process "$work/process" --json
