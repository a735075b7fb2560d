#!/bin/sh
# benches/watch_latency.sh [SAMPLES] [IDLE_SECONDS]
#
# `deploy watch` on real git repositories (a bare origin and a clone that
# pushes to it), the real binary with `--json`:
#   1. webhook: from the start of `git push` to the watcher printing the
#      run's first event (`run_started`), with a GitHub-style push webhook
#      (HMAC-SHA256 signed) sent as soon as the push returned; polling hourly;
#   2. polling: the same with `--every 1s` and no webhook;
#   3. idle cost: a watcher polling every second with nothing new, for
#      IDLE_SECONDS (default 60): its CPU time (its own and the `git`
#      processes it waited for) and its peak RSS, from /proc/PID/stat and
#      /proc/PID/status.
# Prints every sample and the medians. Not a timed test; the numbers go to
# docs/performance.md.
set -eu
samples=${1:-7}
idle=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_BIN:-$root/target/release/deploy}
[ -x "$deploy" ] || (cd "$root" && cargo build --release --quiet)
work=$(mktemp -d /tmp/watch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "$(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
DEPLOY_BIN=$deploy WORK=$work SAMPLES=$samples IDLE=$idle python3 - <<'PY'
import hashlib, hmac, json, os, signal, statistics, subprocess, threading, time, urllib.request

deploy, work = os.environ["DEPLOY_BIN"], os.environ["WORK"]
samples, idle = int(os.environ["SAMPLES"]), int(os.environ["IDLE"])
secret = "bench-webhook-secret-0123456789"
origin, clone, runner = f"{work}/origin.git", f"{work}/clone", f"{work}/runner"
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
env.pop("DEPLOY_STATE", None)

def git(*args, cwd=clone):
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()

subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], check=True)
subprocess.run(["git", "clone", "-q", origin, clone], check=True, capture_output=True)
git("checkout", "-q", "-b", "main")
with open(f"{clone}/release.deploy", "w") as f:
    f.write('pipeline "bench" { watch { branch = "main" } }\n'
            'stage ship { run "true"  irreversible = "bench" }\n')
git("add", "-A"); git("commit", "-q", "-m", "first"); git("push", "-q", "origin", "main")
os.makedirs(runner)
with open(f"{runner}/secret", "w") as f:
    f.write(secret + "\n")
counter = [0]

def commit():
    counter[0] += 1
    with open(f"{clone}/note", "w") as f:
        f.write(f"{counter[0]}\n")
    git("add", "-A"); git("commit", "-q", "-m", f"change {counter[0]}")
    return git("rev-parse", "HEAD")

class Watcher:
    def __init__(self, *args):
        self.proc = subprocess.Popen([deploy, "watch", "--repo", origin, "--json", *args, "release.deploy"],
                                     cwd=runner, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events, self.lock, self.stderr = [], threading.Condition(), []
        threading.Thread(target=self.read, daemon=True).start()
        threading.Thread(target=self.read_err, daemon=True).start()
    def read(self):
        for line in self.proc.stdout:
            now = time.time()
            try: event = json.loads(line)
            except ValueError: continue
            with self.lock:
                self.events.append((now, event)); self.lock.notify_all()
    def read_err(self):
        for line in self.proc.stderr:
            with self.lock:
                self.stderr.append(line); self.lock.notify_all()
    def wait(self, predicate, start=0, timeout=60):
        deadline = time.time() + timeout
        with self.lock:
            while True:
                for index in range(start, len(self.events)):
                    if predicate(self.events[index][1]):
                        return index, self.events[index][0]
                left = deadline - time.time()
                if left <= 0:
                    raise SystemExit("timed out waiting; watcher said:\n" + "".join(self.stderr[-20:]))
                self.lock.wait(left)
    def address(self):
        deadline = time.time() + 30
        with self.lock:
            while time.time() < deadline:
                for line in self.stderr:
                    if "serving http://" in line:
                        return line.split("serving http://")[1].split("/")[0]
                self.lock.wait(0.1)
        raise SystemExit("the watcher never listened:\n" + "".join(self.stderr))
    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try: self.proc.wait(30)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()

def is_type(kind): return lambda event: event.get("type") == kind

def latencies(watcher, hook):
    # The first commit's run, then one sample per pushed commit.
    index, _ = watcher.wait(is_type("run_finished"))
    found = []
    for n in range(samples):
        head = commit()
        start = time.time()
        git("push", "-q", "origin", "main")
        if hook:
            body = json.dumps({"ref": "refs/heads/main", "after": head, "repository": {"name": "bench"}}).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            request = urllib.request.Request(f"http://{hook}/hooks/git", data=body, method="POST", headers={
                "X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 202, answer.status
        index, seen = watcher.wait(is_type("run_started"), index + 1)
        found.append((seen - start) * 1000)
        index, _ = watcher.wait(is_type("run_finished"), index + 1)
        print(f"  sample {n + 1}: {found[-1]:7.1f} ms", flush=True)
        time.sleep(0.3 if hook else 1.3)  # between pushes: not aligned with the poll
    return found

def report(name, values):
    values = sorted(values)
    print(f"{name}: median {statistics.median(values):.1f} ms, min {values[0]:.1f}, max {values[-1]:.1f} ({len(values)} samples)")

print("webhook (polling every 1h):", flush=True)
watcher = Watcher("--every", "1h", "--listen", "127.0.0.1:0", "--webhook-secret-file", "secret")
hooked = latencies(watcher, watcher.address())
watcher.stop()
print("polling every 1s, no webhook:", flush=True)
import shutil; shutil.rmtree(f"{runner}/.deploy", ignore_errors=True)
watcher = Watcher("--every", "1s")
polled = latencies(watcher, None)
report("push → first event, webhook", hooked)
report("push → first event, polling --every 1s", polled)

# Idle: nothing new; warm up, then measure over `idle` seconds.
time.sleep(2)
pid, tick = watcher.proc.pid, os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return [int(v) / tick for v in fields[11:15]]  # utime stime cutime cstime
before, started = cpu(), time.time()
time.sleep(idle)
after, elapsed = cpu(), time.time() - started
status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
own = after[0] + after[1] - before[0] - before[1]
children = after[2] + after[3] - before[2] - before[3]
print(f"idle {elapsed:.0f} s polling every 1s: watcher CPU {own:.2f} s ({100 * own / elapsed:.2f} %), "
      f"git children CPU {children:.2f} s ({100 * children / elapsed:.2f} %), "
      f"peak RSS {status['VmHWM'].strip()}, RSS now {status['VmRSS'].strip()}")
watcher.stop()
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
