#!/bin/sh
# benches/hosts_vs_xargs.sh [HOSTS] [RUNS] — one stage on HOSTS local hosts
# (default 1000), one step each (`true`), 16 at once, against `xargs -P 16`
# running the same HOSTS commands. deploy also records every host in the
# state (host_versions, host_history) at the end of the run; this is what
# that costs next to a plain parallel runner. The tools run in turn, RUNS
# times (default 5); prints each wall time, the medians and the ratio.
# Not a timed test; the numbers go to docs/performance.md.
set -eu
hosts=${1:-1000}
runs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
if [ ! -x "$deploy" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk -v n="$hosts" -v work="$work" 'BEGIN {
  plan = work "/release.deploy"; list = work "/hosts.txt"
  print "pipeline \"bench\" {}" > plan
  printf "environment fleet { hosts = [" > plan
  for (i = 1; i <= n; i++) {
    printf "%s\"h%d\"", (i > 1 ? ", " : ""), i > plan
    print "h" i > list
  }
  print "] }" > plan
  print "stage deploy { target = fleet  run \"true\"  irreversible = \"bench\" }" > plan
}'

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
measure_once() { # name command...
  name=$1
  shift
  start=$(now)
  (cd "$work" && "$@" >/dev/null 2>&1) || { echo "$name failed" >&2; exit 1; }
  end=$(now)
  t=$(echo "$end - $start" | bc)
  printf '%-8s run %d: %6.3fs\n' "$name" "$i" "$t"
  echo "$t" >> "$work/$name.times"
}

echo "$hosts hosts x 1 step, $runs runs each, 16 at once, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  measure_once xargs sh -c 'xargs -P 16 -n 1 true < hosts.txt'
  measure_once deploy "$deploy" run release.deploy --max-parallel 16
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median_xargs=$(median < "$work/xargs.times")
median_deploy=$(median < "$work/deploy.times")
echo "xargs median: ${median_xargs}s"
echo "deploy median: ${median_deploy}s"
echo "deploy / xargs: $(echo "scale=2; $median_deploy / $median_xargs" | bc)"
