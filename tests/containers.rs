//! std/container on real Docker hosts, through the binary: two SSH hosts
//! (tests/support/fleet.sh), each with its own dockerd and nginx, a real
//! registry on the bridge, and images built offline (FROM scratch +
//! busybox-static, tests/support/docker.rs).
//!
//! Measured: 1.0.0 is built, pushed and deployed behind nginx; 1.1.0 is
//! deployed while a load generator sends requests to both hosts for the
//! whole run, with zero failed requests, 1.0.0 answering until the switch
//! and 1.1.0 after; a 1.2.0 whose health check fails never receives a
//! request and the hosts stay on 1.1.0; `deploy rollback` goes back to
//! 1.0.0 by restarting the kept container, with the registry stopped (so
//! nothing can be pulled); the accessory is left alone by app deploys; the
//! secret is in no `docker inspect` args, no process's command line, and
//! no file left behind; the registry-less mode streams the image over SSH;
//! a runner killed with SIGKILL mid-switch, then `deploy resume` and
//! `deploy rollback`, leaves exactly one app container serving per host.
//!
//! The test hosts share this machine's file system except /srv, /root and
//! /run, so the module keeps its files in /srv/containers (`state`), not
//! in the default /var/lib/deploy/containers.
//!
//! Skipped, saying why, when not root or when Docker, the registry or
//! busybox-static is missing, or a daemon does not start.

mod common;
#[path = "support/docker.rs"]
mod docker;
#[path = "support/fleet.rs"]
mod fleet;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Output, Test};
use docker::{app_context, Docker, NGINX};

/// One test at a time: each runs three daemons, and the zero-failure
/// measurement should not share two cores with another test's daemons.
static SERIAL: Mutex<()> = Mutex::new(());

const SECRET: &str = "pa55-w0rd-7f3a9c";

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

/// The plan; `drain`: how long the old container keeps serving after the
/// switch; `network`: the app's network ("host", or a network's name).
fn plan(docker: &Docker, drain: &str, network: &str) -> String {
    let registry = &docker.registry;
    format!(
        "import \"std/container\" as container\n\
         pipeline \"shop\" {{ description = \"containers on two hosts\" }}\n\
         param version: string = \"1.0.0\"\n\
         secret db = env(\"SHOP_DB_PASSWORD\")\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n  \
         vars {{ runtime = \"/usr/bin/docker\" }}\n  \
         probe = \"/usr/bin/docker inspect -f '{{{{.Config.Image}}}}' $(cat /srv/containers/shop/live) | sed 's/.*://'\"\n}}\n\
         stage image from container.build {{\n  image = \"{registry}/shop\"\n  context = \"app\"\n  runtime = \"/usr/bin/docker\"\n}}\n\
         stage cache from container.accessory {{\n  needs = [image]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  name = \"cache\"\n  \
         image = \"{registry}/shop:1.0.0\"\n  cmd = [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"7000\", \"-h\", \"/www\"]\n}}\n\
         stage web from container.app {{\n  needs = [image]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  \
         image = \"{registry}/shop\"\n  health = \"/health\"\n  health_timeout = 4s\n  drain = {drain}\n  network = \"{network}\"\n  stop_timeout = 3s\n  \
         upstream_file = \"/srv/nginx/upstream.conf\"\n  nginx = \"{NGINX}\"\n  \
         vars = [\"GREETING=hello world\", \"DB_PASSWORD=${{db}}\"]\n  \
         volumes = [\"/srv/data:/data\"]\n  labels = [\"team=shop floor\"]\n  memory = \"64m\"\n  restart = \"on-failure\"\n}}\n\
         stage migrate from container.exec {{\n  needs = [web]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  \
         command = [\"/bin/busybox\", \"sh\", \"-c\", \"echo migrated: $GREETING\"]\n}}\n\
         stage tail from container.logs {{\n  needs = [web]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  lines = 5\n}}\n",
        inventory = docker.fleet.inventory(),
        ssh = docker.fleet.ssh_block(),
    )
}

fn test_for(docker: &Docker, plan: &str) -> Test {
    Test::new()
        .plan(plan)
        .env("DOCKER_HOST", &docker.builder())
        .env("SHOP_DB_PASSWORD", SECRET)
        .env("PATH", &format!("/usr/bin:/usr/sbin:/bin:/sbin:{}", std::env::var("PATH").unwrap_or_default()))
}

fn deploy(test: &Test, version: &str, healthy: bool) -> Output {
    app_context(&test.path().join("app"), version, healthy);
    test.run_with(&["run", "release.deploy", "--set", &format!("version={version}")])
}

/// `GET /` through a host's nginx: the version that answered, or why it failed.
fn get(address: &str, port: u16) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(
        &format!("{address}:{port}").parse().map_err(|e| format!("{e}"))?,
        Duration::from_secs(2),
    )
    .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream.write_all(b"GET / HTTP/1.0\r\nHost: shop\r\n\r\n").map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    let status = response.lines().next().unwrap_or_default().to_string();
    if !status.contains(" 200 ") {
        return Err(format!("status line {status:?}"));
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    body.trim().strip_prefix("version ").map(str::to_string).ok_or_else(|| format!("body {body:?}"))
}

/// What every host's nginx answers now.
fn serving(docker: &Docker, port: u16) -> Vec<String> {
    docker.fleet.hosts.iter().map(|host| get(&host.address, port).unwrap_or_else(|e| format!("error: {e}"))).collect()
}

/// The body of `GET PATH` from the registry (its HTTP API).
fn registry_get(registry: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(registry).unwrap_or_else(|e| panic!("registry {registry}: {e}"));
    let request = format!("GET {path} HTTP/1.0\r\nHost: {registry}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("registry: {e}"));
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

/// What every host's nginx answers once it answers `expected` everywhere,
/// or after 5 s: a reload is graceful, so for a moment an old worker may
/// still answer with the configuration before it.
fn settled(docker: &Docker, port: u16, expected: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = serving(docker, port);
        if now.iter().all(|v| v == expected) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One request of the load: when it started and ended, on which host, what answered.
struct Answer {
    started: Instant,
    host: usize,
    result: Result<String, String>,
}

/// Sends requests to every host's nginx, one connection per request, until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(docker: &Docker, port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for (index, host) in docker.fleet.hosts.iter().enumerate() {
            for _ in 0..2 {
                let (stop, answers, address) = (stop.clone(), answers.clone(), host.address.clone());
                threads.push(std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let result = get(&address, port);
                        if let Ok(mut answers) = answers.lock() {
                            answers.push(Answer { started, host: index, result });
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }));
            }
        }
        Load { stop, answers, threads }
    }

    fn finish(mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let mut answers = std::mem::take(&mut *self.answers.lock().unwrap_or_else(|e| e.into_inner()));
        answers.sort_by_key(|answer| answer.started);
        answers
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads every process's command line until stopped: how many times it
/// read the table, and the command lines that held [`SECRET`].
struct ProcessScan {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, Vec<String>)>>,
}

impl ProcessScan {
    fn start() -> ProcessScan {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut scans, mut leaked) = (0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                    let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                    let line = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    if line.contains(SECRET) {
                        leaked.push(line);
                    }
                }
                scans += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            (scans, leaked)
        });
        ProcessScan { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|thread| thread.join().ok()).unwrap_or_default()
    }
}

impl Drop for ProcessScan {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The app containers of `host`: (name, running) each.
fn app_containers(docker: &Docker, host: &str) -> Vec<(String, bool)> {
    docker
        .on(host, &["ps", "-a", "--filter", "label=deploy.app=shop", "--format", "{{.Names}} {{.State}}"])
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(name, state)| (name.to_string(), state == "running")))
        .collect()
}

#[test]
fn containers_switch_with_zero_failed_requests_refuse_an_unhealthy_release_and_roll_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(2) else { return };
    let port = docker::free_port();
    docker.start_nginx(port);
    let test = test_for(&docker, &plan(&docker, "2s", "host"));
    ok(&test.run_with(&["check", "release.deploy"]));
    // The plan's directory is a git repository: the image is tagged with its commit too.
    common::background::git(test.path(), &["init", "--quiet"]);
    common::background::git(test.path(), &["add", "release.deploy"]);
    common::background::git(test.path(), &["commit", "--quiet", "-m", "the shop"]);
    let commit = common::background::git(test.path(), &["rev-parse", "HEAD"]);

    // 1.0.0: built, pushed, pulled and started on both hosts, behind nginx.
    let first = deploy(&test, "1.0.0", true);
    ok(&first);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"]);
    assert!(
        first.stdout.contains("migrated: hello world"),
        "the exec stage ran in the app container: {}",
        first.stdout
    );
    let pushed = registry_get(&docker.registry, "/v2/shop/tags/list");
    assert!(pushed.contains("\"1.0.0\"") && pushed.contains(&format!("\"{commit}\"")), "the registry has {pushed}");
    let cache_before: Vec<String> = docker
        .fleet
        .hosts
        .iter()
        .map(|host| docker.on(&host.name, &["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", "cache"]))
        .collect();

    // 1.1.0 under load: not one failed request; 1.0.0 until the switch, 1.1.0 after.
    // Meanwhile every process's command line is read for the secret (the
    // hosts share this machine's process table).
    let seen = ProcessScan::start();
    let load = Load::start(&docker, port);
    std::thread::sleep(Duration::from_millis(500));
    let run_started = Instant::now();
    let second = deploy(&test, "1.1.0", true);
    let run_ended = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let answers = load.finish();
    let (scans, leaked) = seen.finish();
    ok(&second);
    assert!(scans > 20, "the process table was read only {scans} times");
    assert!(leaked.is_empty(), "the secret was on a command line: {leaked:?}");
    let failed: Vec<String> =
        answers.iter().filter_map(|a| a.result.as_ref().err().map(|e| format!("web-{}: {e}", a.host + 1))).collect();
    assert!(answers.len() > 200, "the load sent only {} requests", answers.len());
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(10)]
    );
    for host in 0..docker.fleet.hosts.len() {
        let mine: Vec<(&Answer, &str)> =
            answers.iter().filter(|a| a.host == host).filter_map(|a| Some((a, a.result.as_deref().ok()?))).collect();
        let first_new = mine.iter().find(|(_, v)| *v == "1.1.0").map(|(a, _)| a.started);
        let first_new = first_new.unwrap_or_else(|| panic!("web-{}: 1.1.0 never answered", host + 1));
        assert!(first_new > run_started, "web-{}: 1.1.0 answered before the run", host + 1);
        for (answer, version) in &mine {
            assert!(["1.0.0", "1.1.0"].contains(version), "web-{} answered {version}", host + 1);
            if *version == "1.0.0" {
                // nginx's reload is graceful: a worker that has not seen it yet may take one more request.
                assert!(
                    answer.started < first_new + Duration::from_millis(1000),
                    "web-{}: 1.0.0 answered {:?} after 1.1.0 did",
                    host + 1,
                    answer.started - first_new
                );
            } else {
                assert!(answer.started >= first_new);
            }
            if answer.started > run_ended {
                assert_eq!(*version, "1.1.0", "web-{}: after the run", host + 1);
            }
        }
    }
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"]);
    for host in &docker.fleet.hosts {
        let mut containers = app_containers(&docker, &host.name);
        containers.sort();
        assert_eq!(containers, [("shop-1.0.0".to_string(), false), ("shop-1.1.0".to_string(), true)], "{}", host.name);
        // The accessory was left alone by the app deploy.
        let cache = docker.on(&host.name, &["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", "cache"]);
        assert!(cache_before.contains(&cache), "{}: the accessory was restarted: {cache}", host.name);
        // The secret reached the container, through no command line and no file left behind.
        let env = docker.on(&host.name, &["exec", "shop-1.1.0", "/bin/busybox", "env"]);
        assert!(env.contains(&format!("DB_PASSWORD={SECRET}")) && env.contains("GREETING=hello world"), "{env}");
        let args = docker.on(&host.name, &["inspect", "-f", "{{.Path}} {{json .Args}}", "shop-1.1.0"]);
        assert!(!args.contains(SECRET), "{args}");
        // Volumes, labels, limits and the restart policy pass through.
        let settings = docker.on(
            &host.name,
            &["inspect", "-f", "{{json .HostConfig.Binds}} {{index .Config.Labels \"team\"}} {{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}", "shop-1.1.0"],
        );
        assert_eq!(settings, "[\"/srv/data:/data\"] shop floor 67108864 on-failure", "{}", host.name);
        let leftovers = docker.ssh(&host.name, "ls /tmp | grep deploy-env || true");
        assert_eq!(leftovers.stdout, "", "{}: env files left", host.name);
    }
    assert!(!second.stdout.contains(SECRET) && !second.stderr.contains(SECRET), "the secret was printed");
    let verify = test.run_with(&["verify", "release.deploy", "--env", "production"]);
    ok(&verify);
    assert_eq!(
        verify.stdout.matches("in sync (1.1.0)").count(),
        2,
        "deploy verify probes the live container: {}",
        verify.stdout
    );

    // 1.2.0 never becomes healthy: no request reaches it, the hosts stay on 1.1.0.
    let load = Load::start(&docker, port);
    let third = deploy(&test, "1.2.0", false);
    let answers = load.finish();
    assert_ne!(third.code, 0, "an unhealthy release must fail: {}", third.stdout);
    assert!(third.stdout.contains("shop-1.2.0 never received a request"), "{}", third.stdout);
    // The build's rollback removed the tags it made (1.2.0 and the commit), and only those.
    let local = docker
        .docker(&docker.builder(), &["images", "--format", "{{.Tag}}", &format!("{}/shop", docker.registry)])
        .stdout;
    let mut local: Vec<&str> = local.lines().collect();
    local.sort();
    assert_eq!(local, ["1.0.0", "1.1.0"], "the builder's tags after the failed 1.2.0");
    // In the registry too: 1.2.0 and the commit tag it moved are gone
    // (one image, one manifest), 1.0.0 and 1.1.0 are not.
    let tags = registry_get(&docker.registry, "/v2/shop/tags/list");
    assert!(tags.contains("\"1.0.0\"") && tags.contains("\"1.1.0\""), "the registry lost a release: {tags}");
    assert!(!tags.contains("\"1.2.0\""), "the registry keeps the failed 1.2.0: {tags}\n{}", third.stdout);
    assert!(third.stdout.contains("from the registry"), "{}", third.stdout);
    assert!(answers.iter().all(|a| a.result.as_deref() == Ok("1.1.0")), "answers other than 1.1.0 while 1.2.0 failed");
    assert!(!answers.is_empty());
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"]);
    for host in &docker.fleet.hosts {
        let mut containers = app_containers(&docker, &host.name);
        containers.sort();
        assert_eq!(containers, [("shop-1.0.0".to_string(), false), ("shop-1.1.0".to_string(), true)], "{}", host.name);
    }

    // `deploy rollback` to 1.0.0 with the registry gone: the kept container is started again.
    let kept: Vec<String> =
        docker.fleet.hosts.iter().map(|h| docker.on(&h.name, &["inspect", "-f", "{{.Id}}", "shop-1.0.0"])).collect();
    docker.stop_registry();
    let back = test.run_with(&["rollback", "release.deploy"]);
    ok(&back);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"], "{}", back.stdout);
    for (host, id) in docker.fleet.hosts.iter().zip(&kept) {
        assert_eq!(app_containers(&docker, &host.name), [("shop-1.0.0".to_string(), true)], "{}", host.name);
        assert_eq!(
            &docker.on(&host.name, &["inspect", "-f", "{{.Id}}", "shop-1.0.0"]),
            id,
            "{}: not the kept container",
            host.name
        );
    }
}

/// Also: HAProxy's runtime API as the proxy, and the image's own
/// HEALTHCHECK as the health check (`health = ""`).
#[test]
fn registry_less_mode_streams_the_image_to_each_host() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(2) else { return };
    let port = docker::free_port();
    docker.start_haproxy(port);
    let plan = format!(
        "import \"std/container\" as container\n\
         pipeline \"shop\" {{ description = \"no registry\" }}\n\
         param version: string = \"1.0.0\"\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n  \
         vars {{ runtime = \"/usr/bin/docker\" }}\n}}\n\
         stage image from container.build {{\n  image = \"shop\"\n  context = \"app\"\n  push = false\n  archive = \"out/shop.tar\"\n  \
         runtime = \"/usr/bin/docker\"\n}}\n\
         stage ship from container.load {{\n  needs = [image]\n  target = production\n  archive = \"out/shop.tar\"\n  \
         to = \"/srv/shop-${{version}}.tar\"\n  runtime = \"${{env.runtime}}\"\n}}\n\
         stage web from container.app {{\n  needs = [ship]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  image = \"shop\"\n  \
         health = \"\"\n  health_timeout = 20s\n  drain = 1s\n  proxy = \"haproxy\"\n  haproxy_admin = \"127.0.0.1:9999\"\n  \
         haproxy_server = \"app/app\"\n  keep = 1\n}}\n",
        inventory = docker.fleet.inventory(),
        ssh = docker.fleet.ssh_block(),
    );
    docker.stop_registry();
    let test = test_for(&docker, &plan);
    let deploy = |version: &str, healthy: bool| {
        let context = test.path().join("app");
        app_context(&context, version, healthy);
        let dockerfile = std::fs::read_to_string(context.join("Dockerfile")).unwrap_or_default();
        std::fs::write(context.join("Dockerfile"), format!("{dockerfile}{HEALTHCHECK}"))
            .unwrap_or_else(|e| panic!("{e}"));
        test.run_with(&["run", "release.deploy", "--set", &format!("version={version}")])
    };
    let first = deploy("1.0.0", true);
    ok(&first);
    assert!(first.stdout.contains("shop-1.0.0 is healthy (its HEALTHCHECK)"), "{}", first.stdout);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"]);
    ok(&deploy("1.1.0", true));
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"]);
    // Unhealthy by its own HEALTHCHECK: never switched to.
    let broken = deploy("1.2.0", false);
    assert_ne!(broken.code, 0, "{}", broken.stdout);
    assert!(broken.stdout.contains("shop-1.2.0 is unhealthy (its HEALTHCHECK)"), "{}", broken.stdout);
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"]);
    for host in &docker.fleet.hosts {
        let images = docker.on(&host.name, &["images", "shop", "--format", "{{.Tag}}"]);
        assert!(images.contains("1.0.0") && images.contains("1.1.0"), "{}: {images}", host.name);
        assert!(!host.srv.join("shop-1.1.0.tar").exists(), "{}: the archive was left", host.name);
    }
    // keep = 1: after 1.3.0, the images of the live (1.3.0) and the previous
    // (1.1.0) container stay; 1.0.0 and the refused 1.2.0 are removed.
    ok(&deploy("1.3.0", true));
    assert_eq!(settled(&docker, port, "1.3.0"), ["1.3.0", "1.3.0"]);
    for host in &docker.fleet.hosts {
        let mut images: Vec<String> =
            docker.on(&host.name, &["images", "shop", "--format", "{{.Tag}}"]).lines().map(str::to_string).collect();
        images.sort();
        assert_eq!(images, ["1.1.0", "1.3.0"], "{}", host.name);
        let mut containers = app_containers(&docker, &host.name);
        containers.sort();
        assert_eq!(containers, [("shop-1.1.0".to_string(), false), ("shop-1.3.0".to_string(), true)], "{}", host.name);
    }
}

/// The image's own health check: busybox's wget asks /health every 300 ms.
const HEALTHCHECK: &str = "HEALTHCHECK --interval=300ms --timeout=2s --retries=2 \
    CMD [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox wget -q -O /dev/null http://127.0.0.1:$PORT/health\"]\n";

/// Not one request of the load failed (the first five failures otherwise).
fn none_failed(answers: &[Answer]) {
    let failed: Vec<&String> = answers.iter().filter_map(|a| a.result.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(5)]
    );
}

/// `strategy blue_green` over containers: `container.app { switch = false }`
/// installs the new container beside the old one on every host, the
/// `switch` block moves each host with the script the stage wrote
/// (`/srv/containers/shop/switch ${version}`). A later stage that fails
/// switches every host back to the kept container and removes the new one.
/// Not one request fails through either move.
#[test]
fn blue_green_installs_everywhere_switches_each_host_and_switches_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(2) else { return };
    let port = docker::free_port();
    docker.start_nginx(port);
    let plan = format!(
        "import \"std/container\" as container\n\
         pipeline \"shop\" {{ description = \"blue/green\"  on_failure = rollback }}\n\
         param version: string = \"1.0.0\"\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n}}\n\
         stage image from container.build {{\n  image = \"{registry}/shop\"\n  context = \"app\"\n  runtime = \"/usr/bin/docker\"\n}}\n\
         stage web from container.app {{\n  needs = [image]\n  target = production\n  \
         strategy blue_green {{\n    switch {{ run \"/srv/containers/shop/switch ${{version}}\" }}\n  }}\n  \
         runtime = \"/usr/bin/docker\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  image = \"{registry}/shop\"\n  \
         health = \"/health\"\n  drain = 1s\n  stop_timeout = 3s\n  switch = false\n  \
         upstream_file = \"/srv/nginx/upstream.conf\"\n  nginx = \"{NGINX}\"\n}}\n\
         stage smoke {{\n  needs = [web]\n  target = production\n  run \"test ${{version}} != 1.2.0\"\n  rollback {{}}\n}}\n",
        inventory = docker.fleet.inventory(),
        ssh = docker.fleet.ssh_block(),
        registry = docker.registry,
    );
    let test = test_for(&docker, &plan);
    ok(&test.run_with(&["check", "release.deploy"]));
    let first = deploy(&test, "1.0.0", true);
    ok(&first);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"], "{}", first.stdout);

    let load = Load::start(&docker, port);
    let second = deploy(&test, "1.1.0", true);
    std::thread::sleep(Duration::from_millis(300));
    let answers = load.finish();
    ok(&second);
    assert!(second.stdout.contains("shop-1.1.0 serves on"), "the switch ran: {}", second.stdout);
    none_failed(&answers);
    assert!(answers.len() > 50, "only {} requests", answers.len());
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"], "{}", second.stdout);
    for host in &docker.fleet.hosts {
        let mut containers = app_containers(&docker, &host.name);
        containers.sort();
        assert_eq!(containers, [("shop-1.0.0".to_string(), false), ("shop-1.1.0".to_string(), true)], "{}", host.name);
    }

    // 1.2.0 is installed and switched to, then `smoke` fails: every host
    // switches back to 1.1.0 and 1.2.0 is removed.
    let load = Load::start(&docker, port);
    let third = deploy(&test, "1.2.0", true);
    std::thread::sleep(Duration::from_millis(300));
    let answers = load.finish();
    assert_ne!(third.code, 0, "{}", third.stdout);
    assert!(third.stdout.contains("shop-1.1.0 serves"), "the switch back ran: {}", third.stdout);
    none_failed(&answers);
    assert!(answers.iter().any(|a| a.result.as_deref() == Ok("1.2.0")), "1.2.0 never served before the switch back");
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"], "{}", third.stdout);
    for host in &docker.fleet.hosts {
        let containers = app_containers(&docker, &host.name);
        assert!(containers.contains(&("shop-1.1.0".to_string(), true)), "{}: {containers:?}", host.name);
        assert!(!containers.iter().any(|(name, _)| name == "shop-1.2.0"), "{}: {containers:?}", host.name);
    }
}

#[test]
fn a_runner_killed_mid_switch_then_resume_and_rollback_leave_one_container_serving() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(2) else { return };
    let port = docker::free_port();
    docker.start_nginx(port);
    // This app runs on a network of its own, published on 127.0.0.1.
    for host in &docker.fleet.hosts {
        docker.on(&host.name, &["network", "create", "shopnet"]);
    }
    let test = test_for(&docker, &plan(&docker, "5s", "shopnet"));
    ok(&deploy(&test, "1.0.0", true));
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"]);

    // Killed while the old containers drain: nginx already sends to 1.1.0.
    app_context(&test.path().join("app"), "1.1.0", true);
    let mut child = test
        .command(&["run", "release.deploy", "--set", "version=1.1.0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut reader = BufReader::new(stdout);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            break;
        }
        if line.contains("std/container: draining") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("draining"), "the run never reached the drain: {line}");
    let history = test.run_with(&["history", "--json"]);
    let history: serde_json::Value = serde_json::from_str(&history.stdout).unwrap_or_default();
    let run_id = history[0]["run_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(history[0]["status"], "crashed", "{history}");

    let resumed = test.run_with(&["resume", &run_id]);
    ok(&resumed);
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"], "{}", resumed.stdout);
    for host in &docker.fleet.hosts {
        let running: Vec<String> =
            app_containers(&docker, &host.name).into_iter().filter(|(_, up)| *up).map(|(n, _)| n).collect();
        assert_eq!(running, ["shop-1.1.0"], "{}", host.name);
    }
    let back = test.run_with(&["rollback", "release.deploy"]);
    ok(&back);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"]);
    for host in &docker.fleet.hosts {
        assert_eq!(app_containers(&docker, &host.name), [("shop-1.0.0".to_string(), true)], "{}", host.name);
        let network = docker.on(&host.name, &["inspect", "-f", "{{.HostConfig.NetworkMode}}", "shop-1.0.0"]);
        assert_eq!(network, "shopnet", "{}", host.name);
    }
}

/// `GET /` through a host's nginx as the user `uid` (the sticky cookie).
fn get_as(address: &str, port: u16, uid: usize) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(
        &format!("{address}:{port}").parse().map_err(|e| format!("{e}"))?,
        Duration::from_secs(2),
    )
    .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET / HTTP/1.0\r\nHost: shop\r\nCookie: uid=user-{uid}\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    if !response.lines().next().unwrap_or_default().contains(" 200 ") {
        return Err(response.lines().next().unwrap_or_default().to_string());
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    body.trim().strip_prefix("version ").map(str::to_string).ok_or_else(|| format!("body {body:?}"))
}

/// A traffic canary over containers: `container.app { switch = false }`
/// starts 1.1.0 beside 1.0.0 and `container.split` sends 50%, then 100% of
/// the users to it through nginx, sticky by cookie; `retire` stops 1.0.0;
/// `deploy rollback` sends every user back to 1.0.0, started again.
#[test]
fn a_traffic_canary_moves_users_to_the_new_container_and_back() {
    traffic_canary(SplitProxy::Nginx);
}

/// The same canary through HAProxy's runtime API (weights on a consistent
/// hash of the cookie, no reload).
#[test]
fn a_traffic_canary_through_haproxy_moves_users_and_back() {
    traffic_canary(SplitProxy::Haproxy);
}

#[derive(Clone, Copy, PartialEq)]
enum SplitProxy {
    Nginx,
    Haproxy,
}

fn traffic_canary(proxy: SplitProxy) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(2) else { return };
    let port = docker::free_port();
    let router = match proxy {
        SplitProxy::Nginx => {
            docker.start_nginx_split(port);
            format!("config = \"/srv/nginx/split.conf\"\n  nginx = \"{NGINX}\"")
        }
        SplitProxy::Haproxy => {
            docker.start_haproxy_split(port);
            "proxy = \"haproxy\"\n  haproxy_admin = \"127.0.0.1:9999\"\n  haproxy_backend = \"app\"".to_string()
        }
    };
    let plan = format!(
        "import \"std/container\" as container\n\
         pipeline \"shop\" {{ description = \"canary\" }}\n\
         param version: string = \"1.0.0\"\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n}}\n\
         stage image from container.build {{\n  image = \"{registry}/shop\"\n  context = \"app\"\n  runtime = \"/usr/bin/docker\"\n}}\n\
         stage router from container.split {{\n  target = production\n  runtime = \"/usr/bin/docker\"\n  \
         state = \"/srv/containers\"\n  name = \"shop\"\n  {router}\n  \
         health = \"/health\"\n}}\n\
         stage web from container.app {{\n  needs = [image]\n  target = production\n  \
         strategy canary {{\n    steps = [50%, 100%]\n    pause = 3s\n    traffic = router\n    \
         retire {{ run \"/usr/bin/docker stop -t 3 shop-${{previous_version}}\" }}\n  }}\n  \
         runtime = \"/usr/bin/docker\"\n  state = \"/srv/containers\"\n  name = \"shop\"\n  image = \"{registry}/shop\"\n  \
         health = \"/health\"\n  switch = false\n}}\n",
        inventory = docker.fleet.inventory(),
        ssh = docker.fleet.ssh_block(),
        registry = docker.registry,
    );
    let test = test_for(&docker, &plan);
    ok(&test.run_with(&["check", "release.deploy"]));
    let first = deploy(&test, "1.0.0", true);
    ok(&first);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"], "{}", first.stdout);

    // 20 users per host ask over and over while 1.1.0 goes to 50%, then 100%.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = docker
        .fleet
        .hosts
        .iter()
        .enumerate()
        .map(|(host, h)| {
            let (stop, seen, address) = (stop.clone(), seen.clone(), h.address.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for uid in 0..20 {
                        let at = Instant::now();
                        let answer = get_as(&address, port, uid);
                        if let Ok(mut seen) = seen.lock() {
                            seen.push((host, uid, at, answer));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    let second = deploy(&test, "1.1.0", true);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    ok(&second);
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let failed: Vec<&String> = seen.iter().filter_map(|(_, _, _, a)| a.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(5)]
    );
    for host in 0..docker.fleet.hosts.len() {
        let mine: Vec<_> = seen.iter().filter(|(h, _, _, _)| *h == host).collect();
        let mixed = mine.chunks(20).any(|round| {
            let new = round.iter().filter(|(_, _, _, a)| a.as_deref() == Ok("1.1.0")).count();
            new > 0 && new < round.len()
        });
        assert!(mixed, "web-{}: no round of the 20 users saw both versions (the 50% step)", host + 1);
        for uid in 0..20 {
            let answers: Vec<_> = mine.iter().filter(|(_, u, _, _)| *u == uid).collect();
            let first_new = answers.iter().find(|(_, _, _, a)| a.as_deref() == Ok("1.1.0")).map(|(_, _, at, _)| *at);
            let first_new = first_new.unwrap_or_else(|| panic!("web-{}: user {uid} never got 1.1.0", host + 1));
            // Sticky: a user who got 1.1.0 keeps it while the share grows
            // (but for the moment an nginx reload lets old workers finish;
            // HAProxy's runtime API changes weights with no reload).
            let reload = if proxy == SplitProxy::Nginx { Duration::from_secs(1) } else { Duration::ZERO };
            for (_, _, at, answer) in &answers {
                if answer.as_deref() == Ok("1.0.0") && *at > first_new {
                    assert!(
                        *at - first_new <= reload,
                        "web-{}: user {uid} went back to 1.0.0 {:?} after getting 1.1.0",
                        host + 1,
                        *at - first_new
                    );
                }
            }
        }
    }
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0", "1.1.0"]);
    for host in &docker.fleet.hosts {
        let mut containers = app_containers(&docker, &host.name);
        containers.sort();
        assert_eq!(containers, [("shop-1.0.0".to_string(), false), ("shop-1.1.0".to_string(), true)], "{}", host.name);
    }

    // Back: 1.0.0 started again, every user on it, 1.1.0 removed.
    let back = test.run_with(&["rollback", "release.deploy"]);
    ok(&back);
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0", "1.0.0"], "{}", back.stdout);
    for host in &docker.fleet.hosts {
        assert_eq!(app_containers(&docker, &host.name), [("shop-1.0.0".to_string(), true)], "{}", host.name);
    }
}

/// Podman's command line on the test hosts: storage below the host's /srv
/// and /run, cgroupfs (there is no systemd), events to a file.
const PODMAN: &str = "podman --root /srv/podman --runroot /run/podman --cgroup-manager cgroupfs --events-backend file";

#[test]
fn the_same_module_runs_on_podman() {
    if !std::path::Path::new("/usr/bin/podman").exists() {
        eprintln!("skipped: podman is not installed (Debian: apt-get install podman)");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(docker) = Docker::start(1) else { return };
    let port = docker::free_port();
    docker.start_nginx(port);
    let plan = format!(
        "import \"std/container\" as container\n\
         pipeline \"shop\" {{ description = \"podman\" }}\n\
         param version: string = \"1.0.0\"\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n  \
         vars {{ runtime = \"{PODMAN}\" }}\n}}\n\
         stage image from container.build {{\n  image = \"shop\"\n  context = \"app\"\n  push = false\n  archive = \"out/shop.tar\"\n  \
         runtime = \"/usr/bin/docker\"\n}}\n\
         stage ship from container.load {{\n  needs = [image]\n  target = production\n  archive = \"out/shop.tar\"\n  \
         to = \"/srv/shop-${{version}}.tar\"\n  runtime = \"${{env.runtime}}\"\n}}\n\
         stage web from container.app {{\n  needs = [ship]\n  target = production\n  runtime = \"${{env.runtime}}\"\n  \
         state = \"/srv/containers\"\n  name = \"shop\"\n  image = \"shop\"\n  health = \"/health\"\n  drain = 1s\n  \
         upstream_file = \"/srv/nginx/upstream.conf\"\n  nginx = \"{NGINX}\"\n  \
         options = [\"--ulimit\", \"nofile=4096:4096\", \"--ulimit\", \"nproc=4096:4096\"]\n}}\n",
        inventory = docker.fleet.inventory(),
        ssh = docker.fleet.ssh_block(),
    );
    let test = test_for(&docker, &plan);
    let first = deploy(&test, "1.0.0", true);
    if first.code != 0 {
        // Podman may refuse to run a container here (no permission for its
        // rlimits or cgroups in this machine's own sandbox): say exactly why.
        let probe = docker.ssh(
            "web-1",
            &format!("{PODMAN} run --rm --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 localhost/shop:1.0.0 /bin/busybox true"),
        );
        if !probe.ok {
            eprintln!("skipped: podman cannot run a container on this machine: {}", probe.stderr);
            return;
        }
    }
    ok(&first);
    // nginx's reload is graceful: an old worker may answer once more with
    // the upstream before (nothing at first: a 502), so wait for it to settle.
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0"]);
    ok(&deploy(&test, "1.1.0", true));
    assert_eq!(settled(&docker, port, "1.1.0"), ["1.1.0"]);
    let running = docker.ssh("web-1", &format!("{PODMAN} ps --filter label=deploy.app=shop --format '{{{{.Names}}}}'"));
    assert_eq!(running.stdout, "shop-1.1.0");
    let all = docker.ssh("web-1", &format!("{PODMAN} ps -a --filter label=deploy.app=shop --format '{{{{.Names}}}}'"));
    assert!(all.stdout.contains("shop-1.0.0"), "the previous container is kept: {}", all.stdout);
    ok(&test.run_with(&["rollback", "release.deploy"]));
    assert_eq!(settled(&docker, port, "1.0.0"), ["1.0.0"]);
    let listing = docker.ssh("web-1", &format!("{PODMAN} ps --filter label=deploy.app=shop --format '{{{{.Names}}}}'"));
    assert_eq!(listing.stdout, "shop-1.0.0", "only the previous container runs after the rollback");
    // No dockerd container was involved: the host's Docker has none.
    assert_eq!(docker.on("web-1", &["ps", "-aq"]), "");
}
