#!/bin/sh
# benches/fleet_vs_ansible.sh [--hosts N] [--runs R] [--only deploy|ssh|...]
#
# `deploy run` over SSH against ansible-playbook, pyinfra and a plain
# parallel `ssh` loop (the floor), side by side in one run, on N real sshd
# hosts from tests/support/fleet.sh (network namespaces; root needed).
# Every tool runs the same 3 shell steps on every host, one host's steps
# one after the other, all hosts at once. Ad-hoc commands too: `deploy
# exec` against `ansible -m shell` and one ssh per host (tools `exec`,
# `adhoc`, `ssh1`), one command (the 3 steps joined by &&) per host.
# Prints each wall time and client CPU, the medians and the ratios. Client
# CPU is the whole process tree of the tool (ssh clients and ControlMasters
# included; the hosts' sshd is not counted, as on a real fleet it runs on
# the hosts), measured with a cpuacct cgroup per run. Not a timed test;
# the numbers go to docs/performance.md.
#
# The same client key, known_hosts and `StrictHostKeyChecking yes` for all
# (the ssh_config fleet.sh writes). Connections: deploy opens one
# ControlMaster per host per run; the ssh loop and ansible use
# `ControlMaster=auto` with a fresh ControlPath directory per run (so no
# run reuses the previous run's connections) and close them after the run;
# deploy gets connect_timeout = 60s (ssh and ansible have no connect
# timeout; the default 10 s fails hosts on a machine loaded by 200
# handshakes at once). pyinfra uses paramiko (its own SSH client: one connection per host).
# ansible: pipelining on, forks = N, gather_facts off, linear strategy.
# Key exchange: deploy offers curve25519-sha256 first (docs/transport.md),
# paramiko negotiates curve25519 too; the ssh loop and ansible keep
# OpenSSH's default (sntrup761x25519, ~90 ms client CPU per connection).
# The hosts have a stock /root (fleet.sh), so no tool pays for this
# machine's shell rc files in every session.
# ansible-core and pyinfra are installed from PyPI into target/bench-venv.
set -eu

hosts=20
runs=3
only=""
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) hosts=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: fleet_vs_ansible.sh [--hosts N] [--runs R] [--only deploy,ssh,ansible,pyinfra,exec,adhoc,ssh1]" >&2; exit 2 ;;
  esac
done
[ -n "$only" ] || only="ssh,deploy,pyinfra,ansible,ssh1,exec,adhoc"
wants() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
[ -x "$deploy" ] || (cd "$root" && cargo build --release --quiet)
venv=$root/target/bench-venv
if { wants ansible || wants pyinfra || wants adhoc; } && [ ! -x "$venv/bin/pyinfra" -o ! -x "$venv/bin/ansible-playbook" ]; then
  echo "installing ansible-core and pyinfra into $venv (PyPI)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q ansible-core pyinfra >&2
fi

work=$(mktemp -d /tmp/fleet-bench.XXXXXX)
fleet=$work/fleet
cleanup() {
  sh "$root/tests/support/fleet.sh" down "$fleet" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bringing up $hosts hosts..." >&2
sh "$root/tests/support/fleet.sh" up "$fleet" "$hosts" "$$"
cfg=$fleet/ssh_config
names=$(cut -d' ' -f1 "$fleet/hosts")

# The 3 steps: write a file in the host's /srv, read it, rename it (each
# run is checked afterwards: every host's /srv/bench/done exists).
step1='mkdir -p /srv/bench && echo "stamp $$" > /srv/bench/stamp'
step2='cat /srv/bench/stamp && uname -n'
step3='mv /srv/bench/stamp /srv/bench/done && echo done'

# deploy: one stage, 3 run steps, every host at once.
{
  echo 'pipeline "fleet-bench" {}'
  echo 'environment fleet {'
  echo '  transport = ssh'
  printf '  hosts = ['
  sep=""
  for name in $names; do printf '%s"%s"' "$sep" "$name"; sep=", "; done
  echo ']'
  echo "  ssh { config = \"$cfg\"  connect_timeout = 60s }"
  echo '}'
  echo 'stage steps {'
  echo '  target = fleet'
  for step in "$step1" "$step2" "$step3"; do
    printf '  run "%s"\n' "$(printf '%s' "$step" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  done
  echo '  irreversible = "bench"'
  echo '}'
} > "$work/fleet.deploy"
"$deploy" check "$work/fleet.deploy" >/dev/null

# ansible: the same hosts by alias, the same client config.
{
  echo '[web]'
  for name in $names; do echo "$name"; done
} > "$work/inventory.ini"
cat > "$work/play.yml" <<YAML
- hosts: web
  gather_facts: false
  tasks:
    - shell: '$(printf '%s' "$step1" | sed "s/'/''/g")'
    - shell: '$(printf '%s' "$step2" | sed "s/'/''/g")'
    - shell: '$(printf '%s' "$step3" | sed "s/'/''/g")'
YAML

# pyinfra: the addresses, key and known_hosts of the same config.
{
  echo "hosts = ["
  while read -r name address _; do
    echo "  ('$address', {'ssh_user': 'root', 'ssh_key': '$fleet/id_ed25519', 'ssh_known_hosts_file': '$fleet/known_hosts', 'ssh_strict_host_key_checking': 'yes'}),"
  done < "$fleet/hosts"
  echo "]"
} > "$work/inventory.py"
cat > "$work/steps.py" <<PY
from pyinfra.operations import server
server.shell(name="step 1", commands=[r'''$step1'''])
server.shell(name="step 2", commands=[r'''$step2'''])
server.shell(name="step 3", commands=[r'''$step3'''])
PY

# Ad-hoc: the 3 steps as one command line.
adhoc_command="$step1 && $step2 && $step3"

# The floor: per host one ssh for each step over a shared master, all hosts at once.
ssh_loop() { # control-dir
  for name in $names; do
    (
      o="-F $cfg -o ControlMaster=auto -o ControlPath=$1/%C -o ControlPersist=60"
      ssh $o "$name" "$step1" && ssh $o "$name" "$step2" && ssh $o "$name" "$step3"
    ) &
  done
  wait
}
# The ad-hoc floor: one ssh per host with the whole command, all hosts at once.
ssh_once() {
  for name in $names; do
    ssh -F "$cfg" "$name" "$adhoc_command" &
  done
  wait
}
close_masters() { # control-dir
  for name in $names; do
    ssh -F "$cfg" -o ControlPath="$1/%C" -O exit "$name" 2>/dev/null &
  done
  wait
  rm -rf "$1"
}

run_tool() { # tool run-number
  control=$work/cm-$1-$2
  mkdir -p "$control"
  case $1 in
    ssh) ssh_loop "$control" ;;
    deploy) "$deploy" run "$work/fleet.deploy" --max-parallel "$hosts" ;;
    ansible)
      ANSIBLE_PIPELINING=1 ANSIBLE_FORKS=$hosts ANSIBLE_HOST_KEY_CHECKING=True \
        ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCAL_TEMP=$work/ansible-tmp \
        ANSIBLE_SSH_ARGS="-F $cfg -o ControlMaster=auto -o ControlPersist=60s" \
        ANSIBLE_SSH_CONTROL_PATH_DIR=$control \
        "$venv/bin/ansible-playbook" -i "$work/inventory.ini" "$work/play.yml" ;;
    pyinfra) (cd "$work" && "$venv/bin/pyinfra" -y --parallel "$hosts" inventory.py steps.py) ;;
    ssh1) ssh_once ;;
    exec) "$deploy" exec "$work/fleet.deploy" fleet --max-parallel "$hosts" -- "$adhoc_command" ;;
    adhoc)
      ANSIBLE_FORKS=$hosts ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
        ANSIBLE_LOCAL_TEMP=$work/ansible-tmp ANSIBLE_SSH_ARGS="-F $cfg -o ControlMaster=auto -o ControlPersist=60s" \
        ANSIBLE_SSH_CONTROL_PATH_DIR=$control \
        "$venv/bin/ansible" -i "$work/inventory.ini" web -m shell -a "$adhoc_command" ;;
  esac
  status=$?
  case $1 in ssh | ansible | adhoc) close_masters "$control" ;; *) rm -rf "$control" ;; esac
  return $status
}

# Checks that a tool really ran the 3 steps on every host, then resets.
verify() { # tool log
  n=$(ls "$fleet"/web-*/srv/bench/done 2>/dev/null | wc -l)
  [ "$n" -eq "$hosts" ] || { echo "$1: the steps ran on $n of $hosts hosts:" >&2; tail -20 "$2" >&2; exit 1; }
  rm -rf "$fleet"/web-*/srv/bench
}

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Client CPU: the script moves itself into a fresh cpuacct cgroup for each
# run, so everything the tool starts (and every ControlMaster it leaves
# behind until it is closed) is counted; then back to the root cgroup.
cg=""
for base in /sys/fs/cgroup/cpuacct /sys/fs/cgroup; do
  if [ -f "$base/cpuacct.usage" ] || [ -f "$base/cgroup.controllers" ]; then cg=$base; break; fi
done
cg_dir=""
cg_enter() { # name
  [ -n "$cg" ] || return 0
  cg_dir=$cg/deploy-bench-$$-$1
  mkdir -p "$cg_dir" && echo $$ > "$cg_dir/cgroup.procs"
}
cg_leave() { # prints the cgroup's CPU seconds
  [ -n "$cg_dir" ] || { echo 0; return 0; }
  echo $$ > "$cg/cgroup.procs"
  if [ -f "$cg_dir/cpuacct.usage" ]; then
    ns=$(cat "$cg_dir/cpuacct.usage")
  else
    ns=$(( $(awk '/^usage_usec/ { print $2 }' "$cg_dir/cpu.stat") * 1000 ))
  fi
  # Anything still in it (a ControlMaster not yet gone) is moved out first.
  for pid in $(cat "$cg_dir/cgroup.procs" 2>/dev/null); do echo "$pid" > "$cg/cgroup.procs" 2>/dev/null || true; done
  rmdir "$cg_dir" 2>/dev/null || true
  echo "scale=3; $ns / 1000000000" | bc
}

tools=""
for tool in ssh deploy pyinfra ansible ssh1 exec adhoc; do wants "$tool" && tools="$tools $tool"; done
echo "$hosts hosts, 3 steps each, $runs runs per tool (interleaved), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  for tool in $tools; do
    log=$work/$tool-$i.log
    cg_enter "$tool-$i"
    start=$(now)
    run_tool "$tool" "$i" > "$log" 2>&1 || { cg_leave >/dev/null; echo "$tool failed (run $i):" >&2; tail -30 "$log" >&2; exit 1; }
    end=$(now)
    cpu=$(cg_leave)
    verify "$tool" "$log"
    t=$(echo "$end - $start" | bc)
    printf '%-8s run %d: %6.3fs wall, %6.3fs client CPU\n' "$tool" "$i" "$t" "$cpu"
    echo "$t" >> "$work/$tool.times"
    echo "$cpu" >> "$work/$tool.cpu"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
printf '| %-30s | %8s | %10s | %10s | %10s | %10s |\n' "tool ($hosts hosts)" "wall" "client CPU" "vs floor" "deploy / x" "CPU d / x"
printf '| %-30s | %8s | %10s | %10s | %10s | %10s |\n' ------------------------------ -------: ---------: ---------: ---------: ---------:
for tool in $tools; do
  eval "med_$tool=$(median < "$work/$tool.times")"
  eval "cpu_$tool=$(median < "$work/$tool.cpu")"
done
ratio() { [ -n "$1" ] && [ -n "$2" ] && [ "$(echo "$2 > 0" | bc)" = 1 ] && printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)" || echo -; }
for tool in $tools; do
  eval "m=\$med_$tool; c=\$cpu_$tool"
  # Playbook-like tools compare with `deploy run` and the ssh loop; ad-hoc
  # tools with `deploy exec` and one ssh per host.
  case $tool in
    ssh | deploy | ansible | pyinfra) floor=${med_ssh:-}; ours=${med_deploy:-}; ours_cpu=${cpu_deploy:-} ;;
    *) floor=${med_ssh1:-}; ours=${med_exec:-}; ours_cpu=${cpu_exec:-} ;;
  esac
  case $tool in
    ssh) label="plain parallel ssh loop" ;;
    deploy) label="deploy run (ssh)" ;;
    ansible) label="ansible-playbook (pipelining)" ;;
    pyinfra) label="pyinfra" ;;
    ssh1) label="one ssh per host (ad hoc)" ;;
    exec) label="deploy exec (ad hoc)" ;;
    adhoc) label="ansible -m shell (ad hoc)" ;;
  esac
  printf '| %-30s | %7.3fs | %9.3fs | %9s× | %9s× | %9s× |\n' "$label" "$m" "$c" "$(ratio "$m" "$floor")" "$(ratio "$ours" "$m")" "$(ratio "$ours_cpu" "$c")"
done
echo "targets: deploy ≤ 0.5× pyinfra (wall and client CPU), ≤ 0.25× ansible, ≤ 1.3× the ssh loop"
