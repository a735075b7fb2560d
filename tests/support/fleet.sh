#!/bin/sh
# Real SSH hosts on this machine, for tests, the fleet example and the
# benchmarks. Each host is a network namespace joined by a veth pair to a
# bridge on a private /24, running its own sshd with its own host key, and
# with its own /srv and its own /root (a mount namespace binds per-host
# directories over them; /root holds the stock Debian dotfiles a fresh host
# has, not this machine's, whose rc files every SSH session would run).
# Root only.
#
#   fleet.sh up DIR COUNT [SEED]   start COUNT hosts; writes into DIR:
#       id_ed25519        the client key every host authorizes (user root)
#       known_hosts       every host's key
#       inventory.ini     [web] web-1 ansible_host=10.231.X.2 ...
#       ssh_config        Host web-N aliases (for ssh, ansible, pyinfra)
#       hosts             "name address srv-dir" per line
#   fleet.sh down DIR              stop everything `up` started
#
# With FLEET_BECOME=1 each host also has its own /etc/passwd, /etc/group,
# /etc/shadow and /etc/sudoers (bound in the host's mount namespace only,
# never this machine's): users `deployer` (sudo without a password) and
# `asker` (sudo that asks for one), both with home /srv and the client key.
#
# With FLEET_DOCKER=1 each host is also a Docker host: its own /run (so
# the daemon's socket is the standard /var/run/docker.sock there) and its
# own dockerd (data root DIR/web-N/docker, started in the host's network
# and mount namespace with nsenter + unshare, not `ip netns exec`, whose
# remount of /sys hides the cgroups dockerd needs); plus a registry
# (docker-registry) on the bridge, and a `builder` dockerd for the machine
# that runs `deploy` (its socket: DIR/builder/docker.sock), both trusting
# the registry over plain HTTP. Writes DIR/registry (HOST:PORT) too.
# FLEET_REGISTRY_PORT gives the registry's port (default 5000). A daemon
# that does not start is exit 77 with its log's last lines.
#
# SEED picks the subnet 10.231.X.0/24 (X from SEED, the next free one).
set -eu

cmd=${1:?usage: fleet.sh up DIR COUNT [SEED] | down DIR}
dir=${2:?directory}

down() {
  [ -f "$dir/state" ] || return 0
  # Docker first: containers removed and daemons stopped while the
  # namespaces still stand (a daemon's mounts end with its namespace).
  while read -r kind name; do
    case $kind in
      docker)
        ids=$(DOCKER_HOST="unix://$name" timeout 20 /usr/bin/docker ps -aq 2>/dev/null || true)
        [ -z "$ids" ] || DOCKER_HOST="unix://$name" timeout 30 /usr/bin/docker rm -f $ids >/dev/null 2>&1 || true ;;
      dockerd)
        pid=$(cat "$name" 2>/dev/null || true)
        [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true ;;
    esac
  done < "$dir/state"
  while read -r kind name; do
    if [ "$kind" = dockerd ]; then
      pid=$(cat "$name" 2>/dev/null || true)
      n=0; while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    fi
  done < "$dir/state"
  while read -r kind name; do
    case $kind in
      pid) kill -9 "$name" 2>/dev/null || true ;;
      netns)
        # Again until none is left: a process forked meanwhile (an nginx
        # reload's new workers) would outlive the namespace's name.
        n=0
        while pids=$(ip netns pids "$name" 2>/dev/null) && [ -n "$pids" ] && [ $n -lt 50 ]; do
          for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
          n=$((n + 1)); sleep 0.05
        done
        ip netns del "$name" 2>/dev/null || true ;;
      link) ip link del "$name" 2>/dev/null || true ;;
    esac
  done < "$dir/state"
  rm -f "$dir/state"
}

if [ "$cmd" = down ]; then
  down
  exit 0
fi

count=${3:?count}
seed=${4:-$$}
[ "$(id -u)" = 0 ] || { echo "fleet.sh: needs root (network namespaces)" >&2; exit 77; }
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || { echo "fleet.sh: sshd is not installed (openssh-server)" >&2; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "fleet.sh: ip is not installed (iproute2)" >&2; exit 77; }
[ "$count" -le 250 ] || { echo "fleet.sh: at most 250 hosts" >&2; exit 2; }
sshd=$(command -v sshd || echo /usr/sbin/sshd)
mkdir -p "$dir" /run/sshd /srv
: > "$dir/state"
trap 'down' INT TERM
trap '[ "${ok:-}" = 1 ] || down' EXIT

# A free subnet and bridge, starting from the seed.
tries=0
while :; do
  x=$(( (seed + tries) % 250 + 1 ))
  tag=$x
  bridge="dfb$tag"
  if ! ip -4 addr show | grep -q "inet 10\.231\.$x\." && ! ip link show "$bridge" >/dev/null 2>&1; then
    if ip link add "$bridge" type bridge 2>/dev/null; then break; fi
  fi
  tries=$((tries + 1))
  [ $tries -lt 250 ] || { echo "fleet.sh: no free subnet" >&2; exit 1; }
done
echo "link $bridge" >> "$dir/state"
ip addr add "10.231.$x.1/24" dev "$bridge"
ip link set "$bridge" up

docker=${FLEET_DOCKER:-0}
registry=""
if [ "$docker" = 1 ]; then
  for tool in /usr/sbin/dockerd /usr/bin/docker /usr/bin/docker-registry nsenter unshare; do
    command -v "$tool" >/dev/null 2>&1 || { echo "fleet.sh: $tool is not installed (docker.io, docker-registry, util-linux)" >&2; exit 77; }
  done
  registry="10.231.$x.1:${FLEET_REGISTRY_PORT:-5000}"
  mkdir -p "$dir/registry-data"
  cat > "$dir/registry.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/registry-data
  delete:
    enabled: true
http:
  addr: $registry
CONF
  /usr/bin/docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  echo "pid $!" >> "$dir/state"
  echo "$registry" > "$dir/registry"
fi

# `dockerd_start NAME NETNS ROOT`: a dockerd in NETNS and a mount namespace
# of its own, binding ROOT/run over /run there (its socket:
# ROOT/run/docker.sock outside, /var/run/docker.sock inside), data in
# ROOT/docker. Extra mounts before it: $binds. Then $after (exec sshd).
dockerd_command() {
  echo "mount --bind '$1/run' /run && $binds (/usr/sbin/dockerd --data-root '$1/docker' --iptables=false --ip-masq=false --bridge=none --insecure-registry '$registry' >'$1/dockerd.log' 2>&1 &) && $after"
}

wait_dockerd() {
  n=0
  until DOCKER_HOST="unix://$1/run/docker.sock" /usr/bin/docker version >/dev/null 2>&1; do
    n=$((n + 1))
    if [ $n -ge 300 ]; then
      echo "fleet.sh: dockerd did not start in $1:" >&2
      tail -n 5 "$1/dockerd.log" >&2
      exit 77
    fi
    sleep 0.1
  done
}

rm -f "$dir/id_ed25519" "$dir/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C deploy-test -f "$dir/id_ed25519"
cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
: > "$dir/known_hosts"; : > "$dir/hosts"; : > "$dir/ssh_config"
printf '[web]\n' > "$dir/inventory.ini"

i=1
while [ $i -le "$count" ]; do
  name="web-$i"
  address="10.231.$x.$((i + 1))"
  ns="dfn$tag-$i"
  veth="dfv$tag-$i"
  host="$dir/$name"
  mkdir -p "$host/srv" "$host/root"
  chmod 700 "$host/root"
  for rc in bashrc profile; do
    if [ -f "/usr/share/base-files/dot.$rc" ]; then cp "/usr/share/base-files/dot.$rc" "$host/root/.$rc"
    elif [ -f "/etc/skel/.$rc" ]; then cp "/etc/skel/.$rc" "$host/root/.$rc"; fi
  done
  ip netns add "$ns"
  echo "netns $ns" >> "$dir/state"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  echo "link $veth" >> "$dir/state"
  ip link set "$veth" master "$bridge" up
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  rm -f "$host/ssh_host_ed25519_key" "$host/ssh_host_ed25519_key.pub"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$host/ssh_host_ed25519_key"
  cat > "$host/sshd_config" <<CONF
ListenAddress $address
Port 22
HostKey $host/ssh_host_ed25519_key
PidFile $host/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 200:30:400
MaxSessions 64
ClientAliveInterval 2
ClientAliveCountMax 2
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
  binds=""
  if [ "${FLEET_BECOME:-}" = 1 ]; then
    mkdir -p "$host/etc"
    cp /etc/passwd "$host/etc/passwd"
    printf 'deployer:x:1500:1500:deployer:/srv:/bin/sh\nasker:x:1501:1501:asker:/srv:/bin/sh\n' >> "$host/etc/passwd"
    cp /etc/group "$host/etc/group"
    printf 'deployer:x:1500:\nasker:x:1501:\n' >> "$host/etc/group"
    cut -d: -f1 "$host/etc/passwd" | sed 's/$/:*:19000:0:99999:7:::/' > "$host/etc/shadow"
    chmod 640 "$host/etc/shadow"
    printf 'Defaults !lecture\nroot ALL=(ALL:ALL) ALL\ndeployer ALL=(ALL:ALL) NOPASSWD: ALL\nasker ALL=(ALL:ALL) ALL\n' > "$host/etc/sudoers"
    chmod 440 "$host/etc/sudoers"
    for f in passwd group shadow sudoers; do binds="$binds mount --bind '$host/etc/$f' /etc/$f &&"; done
  fi
  if [ "$docker" = 1 ]; then
    mkdir -p "$host/run/sshd" "$host/docker"
    binds="mount --bind '$host/srv' /srv && mount --bind '$host/root' /root && $binds"
    after="exec '$sshd' -D -e -f '$host/sshd_config'"
    echo "docker $host/run/docker.sock" >> "$dir/state"
    echo "dockerd $host/run/docker.pid" >> "$dir/state"
    nsenter --net="/var/run/netns/$ns" unshare -m --propagation private \
      sh -c "$(dockerd_command "$host")" >"$host/sshd.log" 2>&1 &
  else
    ip netns exec "$ns" unshare -m --propagation private \
      sh -c "mount --bind '$host/srv' /srv && mount --bind '$host/root' /root && $binds exec '$sshd' -D -e -f '$host/sshd_config'" \
      >"$host/sshd.log" 2>&1 &
  fi
  echo "pid $!" >> "$dir/state"
  echo "$address $(cut -d' ' -f1-2 "$host/ssh_host_ed25519_key.pub")" >> "$dir/known_hosts"
  echo "$name $address $host/srv" >> "$dir/hosts"
  echo "$name ansible_host=$address" >> "$dir/inventory.ini"
  printf 'Host %s\n  HostName %s\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n' \
    "$name" "$address" "$dir/id_ed25519" "$dir/known_hosts" >> "$dir/ssh_config"
  i=$((i + 1))
done

# Every sshd answers before `up` returns.
i=1
while [ $i -le "$count" ]; do
  address="10.231.$x.$((i + 1))"
  n=0
  until (exec 3<>"/dev/tcp/$address/22") 2>/dev/null || bash -c "exec 3<>/dev/tcp/$address/22" 2>/dev/null; do
    n=$((n + 1))
    [ $n -lt 100 ] || { echo "fleet.sh: sshd on $address did not start:" >&2; cat "$dir/web-$i/sshd.log" >&2; exit 1; }
    sleep 0.05
  done
  i=$((i + 1))
done
if [ "$docker" = 1 ]; then
  # The machine that runs `deploy` builds and pushes with a daemon of its
  # own, in a namespace on the bridge (10.231.X.254).
  ns="dfn$tag-b"; veth="dfv$tag-b"; builder="$dir/builder"
  mkdir -p "$builder/run" "$builder/docker"
  ip netns add "$ns"
  echo "netns $ns" >> "$dir/state"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  echo "link $veth" >> "$dir/state"
  ip link set "$veth" master "$bridge" up
  ip -n "$ns" addr add "10.231.$x.254/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  echo "docker $builder/run/docker.sock" >> "$dir/state"
  echo "dockerd $builder/run/docker.pid" >> "$dir/state"
  binds=""; after="exec sleep infinity"
  nsenter --net="/var/run/netns/$ns" unshare -m --propagation private sh -c "$(dockerd_command "$builder")" >/dev/null 2>&1 &
  echo "pid $!" >> "$dir/state"
  i=1
  while [ $i -le "$count" ]; do
    wait_dockerd "$dir/web-$i"
    i=$((i + 1))
  done
  wait_dockerd "$builder"
  n=0
  until bash -c "exec 3<>/dev/tcp/${registry%:*}/${registry#*:}" 2>/dev/null; do
    n=$((n + 1))
    [ $n -lt 100 ] || { echo "fleet.sh: the registry did not start:" >&2; tail -n 5 "$dir/registry.log" >&2; exit 77; }
    sleep 0.05
  done
fi
echo "subnet 10.231.$x.0/24" > "$dir/subnet"
ok=1
