//! Real Docker hosts for the container tests: a [`Fleet`] whose hosts each
//! run their own dockerd (in the host's network and mount namespace, data
//! root below the fleet's directory, socket at the standard
//! /var/run/docker.sock there), a registry (Debian's docker-registry) on the
//! bridge, a `builder` dockerd for the machine that runs `deploy`, and
//! images built offline: `FROM scratch` + busybox-static, whose `httpd`
//! serves a page naming the version and a `/health` that the image can be
//! built without (a broken release). Nothing is pulled from the internet.
//! Everything stops when the [`Fleet`] drops (fleet.sh down), also when a
//! test fails.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use crate::fleet::Fleet;

pub struct Docker {
    pub fleet: Fleet,
    /// The registry, `10.231.X.1:PORT`.
    pub registry: String,
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
}

pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Docker {
    /// `count` Docker hosts, or `None` with the reason printed: not root,
    /// no sshd, or a missing tool or a daemon that does not start (what
    /// fleet.sh says, with the daemon's log).
    pub fn start(count: usize) -> Option<Docker> {
        for tool in ["/usr/sbin/dockerd", "/usr/bin/docker", "/usr/bin/docker-registry", "/usr/bin/busybox"] {
            if !Path::new(tool).exists() {
                eprintln!("skipped: {tool} is not installed (docker.io, docker-registry, busybox-static; .ci/run installs them)");
                return None;
            }
        }
        let fleet = Fleet::start_with_docker(count, free_port())?;
        let registry = std::fs::read_to_string(fleet.path().join("registry")).unwrap_or_default().trim().to_string();
        assert!(!registry.is_empty(), "fleet.sh wrote no registry address");
        Some(Docker { fleet, registry })
    }

    /// `DOCKER_HOST` of the builder (the daemon of the machine that runs deploy).
    pub fn builder(&self) -> String {
        format!("unix://{}/builder/run/docker.sock", self.fleet.path().display())
    }

    /// `DOCKER_HOST` of `host`'s daemon, from outside.
    pub fn socket(&self, host: &str) -> String {
        format!("unix://{}/{host}/run/docker.sock", self.fleet.path().display())
    }

    /// `docker ARGS` against the daemon at `socket` (Debian's client, /usr/bin/docker).
    pub fn docker(&self, socket: &str, args: &[&str]) -> Ran {
        let output = Command::new("/usr/bin/docker")
            .args(args)
            .env("DOCKER_HOST", socket)
            .output()
            .unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
        Ran {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }
    }

    /// `docker ARGS` on `host`, its stdout; panics when it fails.
    pub fn on(&self, host: &str, args: &[&str]) -> String {
        let ran = self.docker(&self.socket(host), args);
        assert!(ran.ok, "docker {args:?} on {host}: {}", ran.stderr);
        ran.stdout
    }

    /// A shell command on `host` over SSH (as a user's session there sees it).
    pub fn ssh(&self, host: &str, command: &str) -> Ran {
        let output = Command::new("ssh")
            .arg("-F")
            .arg(self.fleet.path().join("ssh_config"))
            .args(["-o", "BatchMode=yes", host, command])
            .output()
            .unwrap_or_else(|e| panic!("ssh {host}: {e}"));
        Ran {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }
    }

    /// Starts nginx on every host, listening on `port` of the host's
    /// address and proxying to the upstream `app` that
    /// /srv/nginx/upstream.conf defines (nothing answers there at first).
    /// The `nginx` argument of `container.app` that reaches it: [`NGINX`].
    pub fn start_nginx(&self, port: u16) {
        self.start_nginx_with(port, "upstream.conf", "upstream app {\n    server 127.0.0.1:9;\n}\n", "http://app");
    }

    /// nginx for `container.split`: /srv/nginx/split.conf defines the
    /// stable and canary upstreams and `$app_upstream` (all to nothing at first).
    pub fn start_nginx_split(&self, port: u16) {
        let split =
            "upstream app_stable {\n    server 127.0.0.1:9;\n}\nupstream app_canary {\n    server 127.0.0.1:9;\n}\n\
                     split_clients \"$cookie_uid\" $app_upstream {\n    * app_stable;\n}\n";
        self.start_nginx_with(port, "split.conf", split, "http://$app_upstream");
    }

    fn start_nginx_with(&self, port: u16, include: &str, text: &str, proxy_pass: &str) {
        for host in &self.fleet.hosts {
            let dir = host.srv.join("nginx");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
            std::fs::write(dir.join(include), text).unwrap_or_else(|e| panic!("write: {e}"));
            std::fs::write(
                dir.join("nginx.conf"),
                format!(
                    "worker_processes 2;\npid /srv/nginx/nginx.pid;\nerror_log /srv/nginx/error.log;\n\
                     events {{ worker_connections 1024; }}\n\
                     http {{\n  access_log off;\n  include /srv/nginx/{include};\n  \
                     server {{\n    listen {}:{port};\n    location / {{ proxy_pass {proxy_pass}; }}\n  }}\n}}\n",
                    host.address
                ),
            )
            .unwrap_or_else(|e| panic!("write: {e}"));
            let ran = self.ssh(&host.name, NGINX);
            assert!(ran.ok, "nginx on {}: {}", host.name, ran.stderr);
        }
    }

    /// Starts HAProxy on every host, listening on `port` of the host's
    /// address, its backend `app` with one server `app` (pointing at
    /// nothing at first), its runtime API on 127.0.0.1:9999 of the host.
    pub fn start_haproxy(&self, port: u16) {
        self.start_haproxy_with(port, "backend app\n  server app 127.0.0.1:9\n");
    }

    /// Starts HAProxy as `start_haproxy` does, its backend `app` split
    /// between the servers `stable` and `canary` (both pointing at nothing
    /// at first) by a consistent hash of the `uid` cookie: what
    /// `container.split { proxy = "haproxy" }` weighs.
    pub fn start_haproxy_split(&self, port: u16) {
        self.start_haproxy_with(
            port,
            "backend app\n  balance hash req.cook(uid)\n  hash-type consistent\n  \
             server stable 127.0.0.1:9 weight 256\n  server canary 127.0.0.1:9 weight 0\n",
        );
    }

    fn start_haproxy_with(&self, port: u16, backend: &str) {
        for host in &self.fleet.hosts {
            let dir = host.srv.join("haproxy");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
            std::fs::write(
                dir.join("haproxy.cfg"),
                format!(
                    "global\n  stats socket ipv4@127.0.0.1:9999 level admin\n\
                     defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
                     frontend web\n  bind {}:{port}\n  default_backend app\n{backend}",
                    host.address
                ),
            )
            .unwrap_or_else(|e| panic!("write: {e}"));
            let ran = self.ssh(&host.name, "haproxy -D -f /srv/haproxy/haproxy.cfg -p /srv/haproxy/haproxy.pid");
            assert!(ran.ok, "haproxy on {}: {}", host.name, ran.stderr);
        }
    }

    /// Stops the registry (fleet.sh starts it first), so nothing can be pulled.
    pub fn stop_registry(&self) {
        let state = std::fs::read_to_string(self.fleet.path().join("state")).unwrap_or_default();
        let pid = state.lines().find_map(|line| line.strip_prefix("pid ")).unwrap_or_default().to_string();
        assert!(!pid.is_empty(), "no registry in {state}");
        let _ = Command::new("kill").args(["-9", &pid]).status();
    }
}

/// How the hosts call their nginx.
pub const NGINX: &str = "nginx -p /srv/nginx/ -c /srv/nginx/nginx.conf -e /srv/nginx/error.log";

/// Writes the build context of the test app into `dir`: busybox-static as
/// /bin/busybox, a page `version VERSION` and — when `healthy` — a
/// `/health` answering 200; without it `/health` is 404 and the release
/// never becomes healthy. The app listens on $PORT and stops on SIGTERM.
pub fn app_context(dir: &Path, version: &str, healthy: bool) {
    let www = dir.join("www");
    let _ = std::fs::remove_dir_all(&www);
    std::fs::create_dir_all(&www).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::copy("/usr/bin/busybox", dir.join("busybox")).unwrap_or_else(|e| panic!("copy busybox: {e}"));
    std::fs::write(www.join("index.html"), format!("version {version}\n")).unwrap_or_else(|e| panic!("{e}"));
    if healthy {
        std::fs::write(www.join("health"), "ok\n").unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap_or_else(|e| panic!("{e}"));
}

pub const DOCKERFILE: &str = "FROM scratch\n\
COPY busybox /bin/busybox\n\
COPY www /www\n\
ENV PORT=8080\n\
CMD [\"/bin/busybox\", \"sh\", \"-c\", \"trap 'kill $p; exit 0' TERM INT; /bin/busybox httpd -f -p $PORT -h /www & p=$!; wait $p\"]\n";
