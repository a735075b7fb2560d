#!/usr/bin/env bash
# Benchmark: `deploy check` on a generated plan of 24,000 stages (about 5 MB),
# side by side with `just --summary` on a justfile of the same shape and
# `ninja -n` on the equivalent build.ninja. Prints times, throughput, peak
# memory and the ratios. Results are recorded in docs/performance.md.
#
# usage: benches/check_vs_just.sh [STAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${1:-24000}
runs=5

command -v ninja >/dev/null || { apt-get update -qq && apt-get install -y -qq ninja-build >/dev/null; }
command -v just >/dev/null || pip install --quiet rust-just
cargo build --release --quiet

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/generate.py "$work" "$stages"
# Where cargo put it (CARGO_TARGET_DIR, a wrapper, or ./target).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
deploy=${DEPLOY_BIN:-$target_dir/release/deploy}
size=$(stat -c %s "$work/plan.deploy")

# best wall time of $runs runs, in seconds, and peak RSS in KiB (GNU time)
measure() {
  local best=999999 rss=0
  for _ in $(seq "$runs"); do
    local start end elapsed
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    end=$(date +%s.%N)
    elapsed=$(echo "$end - $start" | bc -l)
    best=$(echo "if ($elapsed < $best) $elapsed else $best" | bc -l)
    rss=$(cat "$work/rss")
  done
  echo "$best $rss"
}

[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
command -v bc >/dev/null || { apt-get install -y -qq bc >/dev/null; }

read -r t_deploy m_deploy < <(cd "$work" && measure "$deploy" check plan.deploy)
read -r t_just m_just < <(cd "$work" && measure just --summary)
read -r t_ninja m_ninja < <(cd "$work" && measure ninja -n)

mb=$(echo "$size / 1048576" | bc -l)
printf 'plan: %d stages, %.2f MB\n' "$stages" "$mb"
printf '%-22s %8.3f s  %7.1f MB/s  peak %6.1f MB\n' "deploy check" "$t_deploy" "$(echo "$mb / $t_deploy" | bc -l)" "$(echo "$m_deploy / 1024" | bc -l)"
printf '%-22s %8.3f s  peak %6.1f MB\n' "just --summary" "$t_just" "$(echo "$m_just / 1024" | bc -l)"
printf '%-22s %8.3f s  peak %6.1f MB\n' "ninja -n" "$t_ninja" "$(echo "$m_ninja / 1024" | bc -l)"
printf 'deploy / just:  %.2fx time\n' "$(echo "$t_deploy / $t_just" | bc -l)"
printf 'deploy / ninja: %.2fx time\n' "$(echo "$t_deploy / $t_ninja" | bc -l)"
printf 'deploy peak memory / file size: %.1fx\n' "$(echo "$m_deploy * 1024 / $size" | bc -l)"
