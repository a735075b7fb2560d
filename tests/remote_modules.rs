//! Modules from other git repositories, through the binary and real git
//! servers the test starts and stops: a bare repository with tags v1.0.0,
//! v1.1.0, v2.0.0 and a branch, served by `file://`, by `git daemon` and
//! over smart HTTP (`git http-backend` behind a small CGI host in this
//! test), and over SSH from a real sshd host (tests/support/fleet.sh) with
//! the user's own SSH options (`GIT_SSH_COMMAND`). Fetch and lock; check and run offline from a warm cache with the
//! server gone; a moved tag refused; a tampered cache file fetched again;
//! range selection and `update`; a module importing a relative file and
//! another remote module; traversal refused; two fetches at once on one
//! cache; an unreachable server leaves nothing half-written.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::background::git;

const SERVICE_V1: &str = "/// A web service.\ntemplate stage service(version: string) {\n  run \"echo service-v1 ${version}\"\n  rollback { run \"echo undo\" }\n}\n";

/// A module repository: a working clone that tags and pushes to `mods.git`.
struct Modules {
    root: PathBuf,
    work: PathBuf,
    bare: PathBuf,
}

impl Modules {
    fn new(root: &Path) -> Modules {
        let work = root.join("mods-work");
        let bare = root.join("srv/mods.git");
        std::fs::create_dir_all(root.join("srv")).unwrap_or_else(|e| panic!("mkdir: {e}"));
        git(root, &["init", "--quiet", "--bare", "--initial-branch=main", &bare.display().to_string()]);
        git(root, &["init", "--quiet", "--initial-branch=main", "mods-work"]);
        git(&work, &["remote", "add", "origin", &bare.display().to_string()]);
        Modules { root: root.to_path_buf(), work, bare }
    }

    /// Commits `files`, tags the commit `tag` (if any) and pushes; the commit.
    fn release(&self, files: &[(&str, &str)], tag: Option<&str>) -> String {
        for (name, text) in files {
            let path = self.work.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
            }
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
        }
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "--allow-empty", "-m", tag.unwrap_or("change")]);
        git(&self.work, &["push", "--quiet", "origin", "HEAD:main"]);
        if let Some(tag) = tag {
            git(&self.work, &["tag", "-f", tag]);
            git(&self.work, &["push", "--quiet", "--force", "origin", &format!("refs/tags/{tag}")]);
        }
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// v1.0.0, v1.1.0, v2.0.0 and a branch `next`.
    fn standard(root: &Path) -> (Modules, [String; 3]) {
        let modules = Modules::new(root);
        let v1 = modules.release(&[("web/service.deploy", SERVICE_V1)], Some("v1.0.0"));
        let v11 = modules
            .release(&[("web/service.deploy", &SERVICE_V1.replace("service-v1", "service-v1.1"))], Some("v1.1.0"));
        let v2 =
            modules.release(&[("web/service.deploy", &SERVICE_V1.replace("service-v1", "service-v2"))], Some("v2.0.0"));
        git(&modules.work, &["push", "--quiet", "origin", "HEAD:refs/heads/next"]);
        (modules, [v1, v11, v2])
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }
}

/// A consuming plan in its own directory, with its own cache.
struct Consumer {
    dir: PathBuf,
    cache: PathBuf,
}

impl Consumer {
    fn new(root: &Path, name: &str, plan: &str) -> Consumer {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
        std::fs::write(dir.join("release.deploy"), plan).unwrap_or_else(|e| panic!("write: {e}"));
        Consumer { dir, cache: root.join("cache") }
    }

    fn deploy(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let output = Command::new(common::binary())
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("NO_COLOR", "1")
            .env_remove("DEPLOY_OFFLINE")
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("deploy: {e}"));
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            flat(&String::from_utf8_lossy(&output.stderr)),
        )
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.dir.join("deploy.lock")).unwrap_or_default()
    }
}

fn plan_importing(import: &str) -> String {
    format!(
        "import \"{import}\" as web\npipeline \"shop\" {{}}\nparam version: string = \"1\"\nstage app from web.service {{ version = version }}\n"
    )
}

#[test]
fn a_locked_module_checks_and_runs_offline_after_the_server_is_gone() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [_, v11, _]) = Modules::standard(root.path());
    let consumer = Consumer::new(
        root.path(),
        "app",
        &plan_importing(&format!("git+{}//web/service.deploy@v1", modules.file_url())),
    );

    // Not fetched yet: a clear error with the command that fixes it.
    let (code, _, err) = consumer.deploy(&["check", "release.deploy"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E0161") && err.contains("deploy modules fetch release.deploy"), "{err}");

    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = consumer.lock();
    assert!(lock.contains(&format!("@v1 = {v11} (v1.1.0)")), "`v1` is the highest v1.x tag: {lock}");
    assert!(lock.contains("  sha256:") && lock.contains("  web/service.deploy"), "{lock}");

    let (code, out, err) = consumer.deploy(&["run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v1.1 1"), "{out}");

    // What moving to v2.0.0 would change, in the plan's terms; nothing is written.
    let (code, out, err) = consumer.deploy(&["modules", "diff", "release.deploy", "mods", "v2.0.0"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(v1.1.0) →") && out.contains("(v2.0.0)"), "{out}");
    assert!(out.contains("~ app: steps step 1: run \"echo [-service-v1.1-]{+service-v2+} ${version}\""), "{out}");
    assert_eq!(consumer.lock(), lock, "a diff writes nothing");
    let (code, _, err) = consumer.deploy(&["modules", "diff", "release.deploy", "elsewhere", "v2.0.0"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no repository of deploy.lock has `elsewhere`"), "{err}");

    // The server is gone; offline, the warm cache is enough.
    let moved = root.path().join("srv/gone.git");
    std::fs::rename(&modules.bare, &moved).unwrap_or_else(|e| panic!("rename: {e}"));
    for env in [&[("DEPLOY_OFFLINE", "1")][..], &[][..]] {
        let (code, out, err) = consumer.deploy(&["check", "release.deploy"], env);
        assert_eq!(code, 0, "{env:?}: {out}{err}");
        let (code, out, err) = consumer.deploy(&["plan", "release.deploy"], env);
        assert_eq!(code, 0, "{env:?}: {out}{err}");
    }
    let (code, out, err) = consumer.deploy(&["--offline", "run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");

    // A cold cache offline: an error naming the fetch, nothing else.
    let cold = Consumer { dir: consumer.dir.clone(), cache: root.path().join("cold-cache") };
    let (code, _, err) = cold.deploy(&["check", "release.deploy"], &[("DEPLOY_OFFLINE", "1")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E0162") && err.contains("offline") && err.contains("deploy modules fetch"), "{err}");

    // Back online, a cold cache is filled at the locked commit (not at what `v1` names now).
    std::fs::rename(&moved, &modules.bare).unwrap_or_else(|e| panic!("rename: {e}"));
    modules.release(&[("web/service.deploy", &SERVICE_V1.replace("service-v1", "service-v1.2"))], Some("v1.2.0"));
    let (code, out, err) = cold.deploy(&["run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v1.1 1"), "the locked commit, not the newest tag: {out}");
    assert_eq!(consumer.lock(), lock, "run never rewrites the lock");

    // `update` moves the range on, and says from where.
    let (code, out, err) = consumer.deploy(&["modules", "update", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(consumer.lock().contains("(v1.2.0)"), "{}", consumer.lock());
    assert!(out.contains(&format!("(was {})", &v11[..12])), "{out}");
    let (_, out, _) = consumer.deploy(&["modules", "list", "release.deploy", "--outdated"], &[]);
    assert!(out.contains("web/service.deploy") && out.contains("newer: v2.0.0"), "{out}");

    // `--to` moves the import itself (the plan's text) and the lock with it.
    let (code, out, err) = consumer.deploy(&["modules", "update", "release.deploy", "mods", "--to", "v2.0.0"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let plan = std::fs::read_to_string(consumer.dir.join("release.deploy")).unwrap_or_default();
    assert!(plan.contains("//web/service.deploy@v2.0.0\""), "{plan}");
    assert!(consumer.lock().contains("@v2.0.0 = ") && !consumer.lock().contains("@v1 = "), "{}", consumer.lock());
    let (code, out, err) = consumer.deploy(&["run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v2 1"), "{out}");
    // A ref that does not exist: the plan and the lock stay as they were.
    let lock = consumer.lock();
    let (code, _, err) = consumer.deploy(&["modules", "update", "release.deploy", "mods", "--to", "v9.9.9"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("has no tag or branch `v9.9.9`"), "{err}");
    assert_eq!(std::fs::read_to_string(consumer.dir.join("release.deploy")).unwrap_or_default(), plan);
    assert_eq!(consumer.lock(), lock);
}

#[test]
fn a_moved_tag_and_a_tampered_cache_file_are_caught() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [v1, _, _]) = Modules::standard(root.path());
    let consumer = Consumer::new(
        root.path(),
        "app",
        &plan_importing(&format!("git+{}//web/service.deploy@v1.0.0", modules.file_url())),
    );
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = consumer.lock();
    assert!(lock.contains(&format!("@v1.0.0 = {v1}\n")), "{lock}");

    // Someone edits a file in the cache: it is fetched again, and the run uses the real one.
    let cached = root.path().join("cache/deploy/modules");
    let file = walk(&cached).into_iter().find(|path| path.ends_with("web/service.deploy"));
    let file = file.unwrap_or_else(|| panic!("no cached module under {}", cached.display()));
    make_writable(&file);
    std::fs::write(&file, SERVICE_V1.replace("echo service-v1", "echo tampered")).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = consumer.deploy(&["run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v1 1") && !out.contains("tampered"), "{out}");
    // Offline, a tampered file cannot be replaced: refused.
    let file = walk(&cached).into_iter().find(|path| path.ends_with("web/service.deploy")).unwrap_or_default();
    make_writable(&file);
    std::fs::write(&file, "tampered").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = consumer.deploy(&["check", "release.deploy"], &[("DEPLOY_OFFLINE", "1")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E0162") && err.contains("deploy.lock says sha256:"), "{err}");

    // The tag is moved on the server: fetch refuses and shows both commits; the lock stays.
    let moved = modules.release(&[("web/service.deploy", &SERVICE_V1.replace("service-v1", "sneaky"))], Some("v1.0.0"));
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("someone moved the tag") && err.contains(&moved) && err.contains(&v1), "{err}");
    assert_eq!(consumer.lock(), lock, "nothing half-written");
}

#[test]
fn a_module_imports_a_relative_file_and_another_remote_module_and_cannot_leave_its_repository() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let base = Modules::new(&root.path().join("base"));
    base.release(
        &[("lib/health.deploy", "template gate healthy() {\n  check every 1s within 5s `true`\n}\n")],
        Some("v0.3.0"),
    );
    let web = Modules::new(&root.path().join("web"));
    let service = format!(
        "import \"./steps/common.deploy\" as common\nimport \"git+{}//lib/health.deploy@^0.3\" as base\n{}",
        base.file_url(),
        SERVICE_V1
    );
    web.release(
        &[
            ("web/service.deploy", &service),
            ("web/steps/common.deploy", "template stage hello() {\n  run \"echo hello\"\n  rollback {}\n}\n"),
        ],
        Some("v1.0.0"),
    );
    let consumer =
        Consumer::new(root.path(), "app", &plan_importing(&format!("git+{}//web/service.deploy@v1", web.file_url())));
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = consumer.lock();
    assert!(lock.contains("  web/steps/common.deploy") && lock.contains("  lib/health.deploy"), "{lock}");
    assert!(lock.contains("(v0.3.0)"), "{lock}");
    let (code, out, err) = consumer.deploy(&["check", "release.deploy"], &[("DEPLOY_OFFLINE", "1")]);
    assert_eq!(code, 0, "{out}{err}");

    // A module that reaches out of its repository is refused, remote or relative.
    web.release(
        &[("web/service.deploy", &format!("import \"../../../etc/passwd\" as p\n{SERVICE_V1}"))],
        Some("v1.1.0"),
    );
    let (code, _, err) = consumer.deploy(&["modules", "update", "release.deploy"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("E0146") && err.contains("out of the module's repository"), "{err}");
    // A plan without remote imports gets no lock file.
    let local = Consumer::new(root.path(), "local", "pipeline \"p\" {}\nstage a { run \"true\"  rollback {} }\n");
    let (code, _, err) = local.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imports no remote module") && !local.dir.join("deploy.lock").exists(), "{err}");
    let traversal =
        Consumer::new(root.path(), "bad", &plan_importing(&format!("git+{}//../x.deploy@v1", web.file_url())));
    let (code, _, err) = traversal.deploy(&["check", "release.deploy"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("E0160") && err.contains("leaves its repository"), "{err}");
    assert!(!root.path().join("bad/deploy.lock").exists());
}

#[test]
fn two_modules_asking_for_different_versions_of_one_repository_get_the_highest_and_why_says_who_asked() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [v1, v11, v2]) = Modules::standard(root.path());
    // Another repository whose module needs `~1.1` of the same modules.
    let lib = Modules::new(&root.path().join("lib"));
    let extra = format!(
        "import \"git+{}//web/service.deploy@~1.1\" as svc\n/// More.\ntemplate stage more() {{\n  run \"echo more\"\n  rollback {{}}\n}}\n",
        modules.file_url()
    );
    lib.release(&[("lib/extra.deploy", &extra)], Some("v1.0.0"));
    let plan = format!(
        "import \"git+{mods}//web/service.deploy@v1.0.0\" as web\nimport \"git+{mods}//web/service.deploy@v2.0.0\" as web2\n\
         import \"git+{lib}//lib/extra.deploy@v1.0.0\" as extra\npipeline \"shop\" {{}}\nparam version: string = \"1\"\n\
         stage app from web.service {{ version = version }}\nstage app2 from web2.service {{ version = \"2\" }}\nstage more from extra.more {{}}\n",
        mods = modules.file_url(),
        lib = lib.file_url()
    );
    let consumer = Consumer::new(root.path(), "app", &plan);
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = consumer.lock();
    // v1.0.0 (the plan) and ~1.1 (the module): v1.1.0, the highest required, for both.
    assert!(lock.contains(&format!("mods.git@v1.0.0 = {v11} (v1.1.0)\n")), "{lock}");
    assert!(lock.contains(&format!("mods.git@~1.1 = {v11} (v1.1.0)\n")), "{lock}");
    assert!(lock.contains("# `v1.0.0` is raised to v1.1.0"), "{lock}");
    assert!(!lock.contains(&v1), "nothing uses v1.0.0's commit: {lock}");
    // Another major version is another module: v2.0.0 stays.
    assert!(lock.contains(&format!("mods.git@v2.0.0 = {v2}\n")), "{lock}");
    let (code, out, err) = consumer.deploy(&["--offline", "run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v1.1 1") && out.contains("service-v2 2") && out.contains("more"), "{out}");
    // Fetching again keeps the lock: the raised tag is not a moved tag.
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(consumer.lock(), lock);

    // Who asked for what.
    let (code, out, err) = consumer.deploy(&["--offline", "modules", "why", "release.deploy", "mods"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let short = &v11[..12];
    assert!(out.contains(&format!("  @v1.0.0 → v1.1.0 {short}  (raised")), "{out}");
    assert!(out.contains(&format!("  @~1.1 → v1.1.0 {short}\n")), "{out}");
    assert!(out.contains("    release.deploy imports web/service.deploy@v1.0.0 as web"), "{out}");
    let by_module =
        format!("    git+{}//lib/extra.deploy@v1.0.0 imports web/service.deploy@~1.1 as svc", lib.file_url());
    assert!(out.contains(&by_module), "{out}");
    assert!(out.contains(&format!("  @v2.0.0 → {}\n", &v2[..12])), "{out}");
    let (code, alias, _) = consumer.deploy(&["--offline", "modules", "why", "release.deploy", "extra"], &[]);
    assert_eq!(code, 0);
    assert!(
        alias.contains("release.deploy imports lib/extra.deploy@v1.0.0 as extra") && !alias.contains("web/service"),
        "{alias}"
    );
    let (code, _, err) = consumer.deploy(&["modules", "why", "release.deploy", "nowhere"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no remote import of release.deploy has `nowhere`"), "{err}");

    // `update` of the module alone: still the highest required of both.
    let (code, out, err) = consumer.deploy(&["modules", "update", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(consumer.lock(), lock);
}

#[test]
fn the_run_records_its_module_commits_and_history_says_them_on_sqlite_and_postgres() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [_, v11, v2]) = Modules::standard(root.path());
    let backends: Vec<(&str, Option<String>)> = std::iter::once(("sqlite", None))
        .chain(common::backend::postgres("run_records_module_commits").map(|backend| match backend {
            common::backend::Backend::Postgres(url) => ("postgres", Some(url)),
            common::backend::Backend::Sqlite => ("sqlite", None),
        }))
        .collect();
    for (name, url) in backends {
        let plan = plan_importing(&format!("git+{}//web/service.deploy@v1", modules.file_url()));
        let consumer = Consumer::new(root.path(), name, &plan);
        let env: Vec<(&str, &str)> = url.iter().map(|url| ("DEPLOY_STATE", url.as_str())).collect();
        let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &env);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let (code, out, err) = consumer.deploy(&["run", "release.deploy"], &env);
        assert_eq!(code, 0, "{name}: {out}{err}");
        // The module moves to v2.0.0; the next run records that, the first keeps v1.1.0.
        let (code, out, err) =
            consumer.deploy(&["modules", "update", "release.deploy", "mods", "--to", "v2.0.0"], &env);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let (code, out, err) = consumer.deploy(&["run", "release.deploy", "--set", "version=2"], &env);
        assert_eq!(code, 0, "{name}: {out}{err}");

        let (code, out, err) = consumer.deploy(&["history", "--json"], &env);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        let module = |row: usize| rows[row]["modules"][0].clone();
        assert_eq!(rows[0]["version"], "2", "{name}: newest first: {out}");
        assert_eq!(module(0)["commit"], v2.as_str(), "{name}: {out}");
        assert_eq!(module(0)["reference"], "v2.0.0", "{name}: {out}");
        assert_eq!(module(1)["commit"], v11.as_str(), "{name}: {out}");
        assert_eq!(module(1)["tag"], "v1.1.0", "{name}: {out}");
        assert_eq!(module(1)["url"], modules.file_url().as_str(), "{name}: {out}");
        assert_eq!(module(1)["path"], "web/service.deploy", "{name}: {out}");
        let wanted = format!("git+{}//web/service.deploy@v1", modules.file_url());
        assert_eq!(module(1)["name"], wanted.as_str(), "{name}: {out}");
        assert!(rows[0]["run_id"].is_string() && rows[0]["hosts"].is_array(), "existing fields stay: {out}");
        let (code, out, _) = consumer.deploy(&["history"], &env);
        assert_eq!(code, 0);
        assert!(out.contains(&format!("modules: web/service.deploy v2.0.0 {}", &v2[..12])), "{name}: {out}");
        assert!(out.contains(&format!("modules: web/service.deploy v1.1.0 {}", &v11[..12])), "{name}: {out}");
    }
}

const WORKER: &str = "/// A worker.\n///\n/// ```deploy\n/// import \"./worker.deploy\" as w\n/// pipeline \"p\" {}\n/// stage a from w.worker { queue = \"jobs\" }\n/// ```\ntemplate stage worker(\n  /// The queue it reads.\n  queue: string\n) {\n  run \"echo work ${queue}\"\n  rollback {}\n}\n";

#[test]
fn a_module_repository_is_linted_and_documented_and_deploy_doc_reads_a_remote_import() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, _) = Modules::standard(root.path());
    std::fs::write(modules.work.join("web/worker.deploy"), WORKER).unwrap_or_else(|e| panic!("{e}"));
    let dir = modules.work.display().to_string();
    let consumer = Consumer::new(
        root.path(),
        "app",
        &plan_importing(&format!("git+{}//web/service.deploy@v1", modules.file_url())),
    );
    let (code, out, err) = consumer.deploy(&["modules", "check", &dir], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("checked 2 module files") && err.contains("no problems"), "{err}");

    // Pages: one per module file, importing it as a remote module.
    let pages = root.path().join("pages");
    let out_dir = pages.display().to_string();
    let (code, out, err) =
        consumer.deploy(&["modules", "doc", &dir, "--out", &out_dir, "--url", "https://git.example.com/mods.git"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let page = std::fs::read_to_string(pages.join("web/worker.md")).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert!(
        page.contains("import \"git+https://git.example.com/mods.git//web/worker.deploy@REF\" as worker"),
        "{page}"
    );
    assert!(
        page.contains("### `worker.worker`")
            && page.contains("| `queue` | `string` | required | The queue it reads. |"),
        "{page}"
    );
    assert!(pages.join("web/service.md").is_file(), "{out}");

    // A template without documentation and an example that does not check: exit 1, both said.
    let bad = "/// Broken example.\n///\n/// ```deploy\n/// import \"./bad.deploy\" as b\n/// pipeline \"p\" {}\n/// stage a from b.nope {}\n/// ```\ntemplate stage good() {\n  run \"true\"\n  rollback {}\n}\n\ntemplate stage undocumented() {\n  run \"true\"\n  rollback {}\n}\n";
    std::fs::write(modules.work.join("web/bad.deploy"), bad).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = consumer.deploy(&["modules", "check", &dir], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("web/bad.deploy:13: template `undocumented` has no doc comment"), "{err}");
    assert!(err.contains("web/bad.deploy:8: example 1 of the doc comment of `good` does not check"), "{err}");
    assert!(err.contains("2 problems"), "{err}");
    let (code, _, err) =
        consumer.deploy(&["modules", "check", &root.path().join("nothing").display().to_string()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a directory"), "{err}");

    // `deploy doc ALIAS.TEMPLATE`: the plan's remote import, from the cache.
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = consumer.deploy(&["--offline", "doc", "web.service"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("A web service.") && out.contains("version: string"), "{out}");
    let (code, out, err) = consumer.deploy(&["--offline", "doc", "web", "--plan", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service"), "{out}");
    let (code, _, err) = consumer.deploy(&["--offline", "doc", "nope.service"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("no module `nope.service`"), "{err}");
}

#[test]
fn git_daemon_and_smart_http_serve_the_same_modules_and_two_fetches_share_one_cache() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [_, v11, _]) = Modules::standard(root.path());
    let daemon = GitDaemon::start(&modules.root.join("srv"));
    let http = SmartHttp::start(&modules.root.join("srv"));
    let plans = [
        ("daemon", format!("git://127.0.0.1:{}/mods.git", daemon.port)),
        ("http", format!("http://127.0.0.1:{}/mods.git", http.port)),
    ];
    let consumers: Vec<Consumer> = plans
        .iter()
        .map(|(name, url)| {
            Consumer::new(root.path(), name, &plan_importing(&format!("git+{url}//web/service.deploy@~1.1")))
        })
        .collect();
    // Both at once, on one cache.
    let fetches: Vec<_> = consumers
        .iter()
        .map(|consumer| {
            Command::new(common::binary())
                .args(["modules", "fetch", "release.deploy"])
                .current_dir(&consumer.dir)
                .env("XDG_CACHE_HOME", &consumer.cache)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("deploy: {e}"))
        })
        .collect();
    for fetch in fetches {
        let output = fetch.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    for consumer in &consumers {
        assert!(consumer.lock().contains(&format!(" = {v11} (v1.1.0)")), "{}", consumer.lock());
        let (code, out, err) = consumer.deploy(&["run", "release.deploy"], &[]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("service-v1.1 1"), "{out}");
    }
    drop(daemon);
    drop(http);

    // An unreachable server: a clear error, no lock, nothing new in the cache.
    let port = TcpListener::bind("127.0.0.1:0").map(|l| l.local_addr().map(|a| a.port()).unwrap_or(9)).unwrap_or(9);
    let gone = Consumer::new(
        root.path(),
        "gone",
        &plan_importing(&format!("git+http://127.0.0.1:{port}/mods.git//web/service.deploy@v1")),
    );
    let before = walk(&root.path().join("cache/deploy/modules")).len();
    let (code, _, err) = gone.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot list the refs of http://127.0.0.1") && err.contains("was not written"), "{err}");
    assert!(!gone.dir.join("deploy.lock").exists());
    assert_eq!(walk(&root.path().join("cache/deploy/modules")).len(), before);
    let leftovers = walk(&root.path().join("cache/deploy/modules"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".unpacking-"));
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn a_cold_fetch_asks_repositories_in_parallel_and_each_once() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let names = ["a", "b", "c", "d"];
    for name in names {
        Modules::standard(&root.path().join(name));
    }
    let stats = Arc::new(Stats::default());
    stats.delay_ms.store(300, Ordering::SeqCst);
    let http = SmartHttp::start_with(root.path(), stats.clone());
    // Two imports (two commits) of each of four repositories.
    let mut plan = String::new();
    for name in names {
        let url = format!("http://127.0.0.1:{}/{name}/srv/mods.git", http.port);
        plan.push_str(&format!("import \"git+{url}//web/service.deploy@v1.0.0\" as {name}1\n"));
        plan.push_str(&format!("import \"git+{url}//web/service.deploy@v2.0.0\" as {name}2\n"));
    }
    plan.push_str("pipeline \"shop\" {}\nstage app from a1.service { version = \"1\" }\n");
    let consumer = Consumer::new(root.path(), "app", &plan);
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(consumer.lock().matches(" = ").count(), 8, "{}", consumer.lock());
    for name in names {
        // One connection to list its refs, one to fetch it: each repository once.
        assert_eq!(
            stats.connections(&format!("/{name}/srv/mods.git")),
            2,
            "{name}: {:?}",
            stats.requests.lock().map(|r| r.clone())
        );
    }
    let most = stats.most.load(Ordering::SeqCst);
    assert!(most >= 2, "the repositories were asked one after the other (at most {most} at once)");

    // A cold cache filled from the lock (check): in parallel too, one fetch per repository.
    for dir in ["modules", "git"] {
        let path = consumer.cache.join("deploy").join(dir);
        for file in walk(&path) {
            make_writable(&file);
        }
        let _ = Command::new("chmod").arg("-R").arg("u+w").arg(&path).status();
        std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    stats.reset();
    let (code, out, err) = consumer.deploy(&["check", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    for name in names {
        assert_eq!(
            stats.connections(&format!("/{name}/srv/mods.git")),
            1,
            "{name}: {:?}",
            stats.requests.lock().map(|r| r.clone())
        );
    }
    let most = stats.most.load(Ordering::SeqCst);
    assert!(most >= 2, "the cache was filled one repository after the other (at most {most} at once)");
}

#[test]
fn the_editor_offers_the_fetch_runs_it_only_when_picked_and_then_follows_remote_modules() {
    use common::lsp_client::{file_uri, position_of, LspClient};
    use serde_json::json;
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, _) = Modules::standard(root.path());
    let text = plan_importing(&format!("git+{}//web/service.deploy@v1", modules.file_url()));
    let consumer = Consumer::new(root.path(), "app", &text);
    let uri = file_uri(&consumer.dir.join("release.deploy"));
    let cache = consumer.cache.display().to_string();
    let mut client = LspClient::start_with_env(common::binary(), &consumer.dir, &[("XDG_CACHE_HOME", &cache)]);
    client.initialize(&file_uri(&consumer.dir));
    let published = client.open(&uri, &text);
    let diagnostics = published["diagnostics"].clone();
    assert!(diagnostics.as_array().is_some_and(|all| all.iter().any(|d| d["code"] == "E0161")), "{published:#}");
    let actions = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": diagnostics[0]["range"], "context": { "diagnostics": diagnostics } }),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix", "{actions:#}");
    assert_eq!(action["command"]["command"], "deploy.modules.fetch", "{actions:#}");
    assert_eq!(action["command"]["arguments"], json!([uri]), "{actions:#}");
    // Nothing fetched on a keystroke: not before the user picks the action.
    assert!(!consumer.dir.join("deploy.lock").exists() && !consumer.cache.join("deploy").exists());
    let result = client.request(
        "workspace/executeCommand",
        json!({ "command": "deploy.modules.fetch", "arguments": action["command"]["arguments"] }),
    );
    assert_eq!(result["fetched"], true, "{result:#}");
    assert!(consumer.lock().contains("@v1 = "), "{}", consumer.lock());
    client.diagnostics_for(&uri, |p| p["diagnostics"] == json!([]));

    // Hover, completion and go to definition follow the remote module (read-only, in the cache).
    let service = position_of(&text, "service {", 0);
    let hover = client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": service }));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        value.contains("service(") && value.contains("version: string") && value.contains("A web service."),
        "{hover:#}"
    );
    let completion =
        client.request("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": service }));
    let labels: Vec<&str> = completion.as_array().into_iter().flatten().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"service"), "{labels:?}");
    let definition =
        client.request("textDocument/definition", json!({ "textDocument": { "uri": uri }, "position": service }));
    let target = definition["uri"].as_str().unwrap_or_default();
    assert!(target.contains("/cache/deploy/modules/") && target.ends_with("/web/service.deploy"), "{definition:#}");
    assert_eq!(definition["range"]["start"]["line"], 1, "{definition:#}");

    // A fetch that fails says why, and writes nothing.
    let result = client.request_full(
        "workspace/executeCommand",
        json!({ "command": "deploy.modules.fetch", "arguments": [file_uri(&root.path().join("missing.deploy"))] }),
    );
    assert_eq!(result["result"]["fetched"], false, "{result:#}");
    assert!(result["result"]["message"].as_str().unwrap_or_default().contains("is not a plan file"), "{result:#}");
    assert_eq!(client.shutdown(), Some(0));
}

/// A cached module opened on its own (go to definition lands there): it has
/// no lock beside it, so its own remote import resolves with the lock of
/// the plan that uses its commit, in `deploy check` and in the editor
/// (no diagnostic, hover and go to definition into the next module).
#[test]
fn a_cached_module_opened_on_its_own_resolves_its_remote_imports_with_its_plans_lock() {
    use common::lsp_client::{file_uri, position_of, LspClient};
    use serde_json::json;
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let base = Modules::new(&root.path().join("base"));
    base.release(
        &[(
            "lib/health.deploy",
            "/// Healthy when true.\ntemplate gate healthy() {\n  check every 1s within 5s `true`\n}\n",
        )],
        Some("v0.3.0"),
    );
    let web = Modules::new(&root.path().join("web"));
    let service = format!(
        "import \"git+{}//lib/health.deploy@^0.3\" as base\n{SERVICE_V1}gate ready from base.healthy {{}}\n",
        base.file_url()
    );
    web.release(&[("web/service.deploy", &service)], Some("v1.0.0"));
    let consumer =
        Consumer::new(root.path(), "app", &plan_importing(&format!("git+{}//web/service.deploy@v1", web.file_url())));
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let cached = walk(&consumer.cache.join("deploy/modules"))
        .into_iter()
        .find(|path| path.ends_with("web/service.deploy"))
        .unwrap_or_else(|| panic!("web/service.deploy is not in the cache"));
    let (code, out, err) = consumer.deploy(&["check", &cached.display().to_string()], &[("DEPLOY_OFFLINE", "1")]);
    assert_eq!(code, 0, "deploy check on the cached module: {out}{err}");

    let text = std::fs::read_to_string(&cached).unwrap_or_else(|e| panic!("read: {e}"));
    let uri = file_uri(&cached);
    let cache = consumer.cache.display().to_string();
    let mut client = LspClient::start_with_env(
        common::binary(),
        &consumer.dir,
        &[("XDG_CACHE_HOME", &cache), ("DEPLOY_OFFLINE", "1")],
    );
    client.initialize(&file_uri(&consumer.dir));
    let published = client.open(&uri, &text);
    assert_eq!(published["diagnostics"], json!([]), "{published:#}");
    let position = position_of(&text, "healthy {", 0);
    let hover = client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": position }));
    assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("Healthy when true."), "{hover:#}");
    let definition =
        client.request("textDocument/definition", json!({ "textDocument": { "uri": uri }, "position": position }));
    let target = definition["uri"].as_str().unwrap_or_default();
    assert!(target.contains("/cache/deploy/modules/") && target.ends_with("/lib/health.deploy"), "{definition:#}");
    assert_eq!(client.shutdown(), Some(0));

    // With no plan using that commit any more, the file says what is missing.
    std::fs::remove_file(consumer.dir.join("deploy.lock")).unwrap_or_else(|e| panic!("rm: {e}"));
    let (code, _, err) = consumer.deploy(&["check", &cached.display().to_string()], &[("DEPLOY_OFFLINE", "1")]);
    assert_ne!(code, 0);
    assert!(err.contains("is not locked"), "{err}");
}

/// Diagnostics with miette's line wrapping undone (`deploy\n  | modules` → `deploy modules`).
fn flat(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match trimmed.strip_prefix("| ") {
            Some(rest) => {
                out.push(' ');
                out.push_str(rest);
            }
            None => {
                out.push('\n');
                out.push_str(line);
            }
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn make_writable(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = file.parent() {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    }
    let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644));
}

/// `git daemon` serving `base`, stopped on drop: in a process group of its
/// own, which is killed whole (`git daemon` runs `git-daemon` as a child,
/// which killing `git` alone would leave running).
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
        use std::os::unix::process::CommandExt;
        let child = Command::new("git")
            .args(["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", &format!("--port={port}")])
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("git daemon: {e}"));
        let daemon = GitDaemon { child, port };
        common::background::wait_until(Duration::from_secs(10), "git daemon to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: signals the process group this test started (its leader is the child).
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// Smart HTTP: each request handed to `git http-backend` as CGI, as a web
/// server would; stopped on drop. It keeps what it was asked and how many
/// requests it served at once at most.
struct SmartHttp {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Stats {
    /// Each request's `METHOD PATH?QUERY`.
    requests: std::sync::Mutex<Vec<String>>,
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    /// How long each request waits before it is served (milliseconds).
    delay_ms: std::sync::atomic::AtomicU64,
}

impl Stats {
    /// How many requests opened a git connection to `repository` (`GET …/info/refs`).
    fn connections(&self, repository: &str) -> usize {
        let requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        requests.iter().filter(|r| r.starts_with(&format!("GET {repository}/info/refs"))).count()
    }

    fn reset(&self) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.clear();
        }
        self.most.store(0, Ordering::SeqCst);
    }
}

impl SmartHttp {
    fn start(base: &Path) -> SmartHttp {
        SmartHttp::start_with(base, Arc::new(Stats::default()))
    }

    fn start_with(base: &Path, stats: Arc<Stats>) -> SmartHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let (base, stopping, counting) = (base.to_path_buf(), stop.clone(), stats);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (base, stats) = (base.clone(), counting.clone());
                        std::thread::spawn(move || serve_cgi(stream, &base, &stats));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        SmartHttp { port, stop, thread: Some(thread) }
    }
}

impl Drop for SmartHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_cgi(stream: TcpStream, base: &Path, stats: &Stats) {
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.most.fetch_max(now, Ordering::SeqCst);
    serve_request(stream, base, stats);
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
}

fn serve_request(stream: TcpStream, base: &Path, stats: &Stats) {
    let _ = stream.set_nonblocking(false);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(stream) => stream,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or("GET").to_string(), words.next().unwrap_or("/").to_string());
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if let Ok(mut requests) = stats.requests.lock() {
        requests.push(format!("{method} {target}"));
    }
    std::thread::sleep(Duration::from_millis(stats.delay_ms.load(Ordering::SeqCst)));
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let child = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", length.to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body);
    }
    let mut output = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_end(&mut output);
    }
    let _ = child.wait();
    let split = output.windows(4).position(|w| w == b"\r\n\r\n").map(|at| (at, 4));
    let split = split.or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2)));
    let Some((at, gap)) = split else { return };
    let head = String::from_utf8_lossy(&output[..at]).into_owned();
    let mut status = "200 OK".to_string();
    let mut response = Vec::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => status = value.trim().to_string(),
            _ => response.extend_from_slice(format!("{line}\r\n").as_bytes()),
        }
    }
    let body = &output[at + gap..];
    let mut stream = stream;
    let _ = stream
        .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len()).as_bytes());
    let _ = stream.write_all(&response);
    let _ = stream.write_all(b"\r\n");
    let _ = stream.write_all(body);
}

#[test]
fn the_shared_modules_example_publishes_fetches_and_runs_both_apps() {
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let example = common::root().join("examples/shared_modules");
    let lint = Command::new(common::binary()).args(["modules", "check"]).arg(example.join("modules")).output();
    let lint = lint.unwrap_or_else(|e| panic!("deploy: {e}"));
    assert!(lint.status.success(), "the example's modules lint: {}", String::from_utf8_lossy(&lint.stderr));
    let bare = root.path().join("published/modules.git");
    let setup = Command::new(example.join("setup.sh")).arg(&bare).output().unwrap_or_else(|e| panic!("setup.sh: {e}"));
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    assert!(String::from_utf8_lossy(&setup.stdout).contains("with tag v1.0.0"));
    for app in ["app-a", "app-b"] {
        let text = std::fs::read_to_string(example.join(app).join("release.deploy")).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("git+file:///tmp/deploy-example-modules.git//"), "the example changed: {text}");
        let text = text.replace("/tmp/deploy-example-modules.git", &bare.display().to_string());
        let consumer = Consumer::new(root.path(), app, &text);
        let service = root.path().join("services").join(app);
        let env = [("DEPLOY_EXAMPLE_ROOT", service.to_str().unwrap_or_default())];
        let (code, _, err) = consumer.deploy(&["--offline", "check", "release.deploy"], &env);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("E0161"), "{err}");
        let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &env);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = consumer.deploy(&["plan", "release.deploy"], &env);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("remote modules (deploy.lock):") && out.contains("(v1.0.0): web/service.deploy"), "{out}");
        let (code, out, err) = consumer.deploy(&["run", "release.deploy", "--set", "version=2.0.0"], &env);
        assert_eq!(code, 0, "{out}{err}");
        let current = std::fs::read_to_string(service.join("current/VERSION")).unwrap_or_default();
        assert_eq!(current.trim(), "2.0.0");
        let (code, out, err) = consumer.deploy(&["history"], &env);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("modules: web/service.deploy v1.0.0 "), "{out}");
        let (code, out, err) = consumer.deploy(&["modules", "why", "release.deploy", "web"], &env);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("release.deploy imports web/service.deploy@v1 as web"), "{out}");
    }
}

#[test]
fn a_module_is_fetched_over_ssh_with_the_users_own_ssh_options() {
    let Some(fleet) = fleet::Fleet::start(1) else { return };
    let host = &fleet.hosts[0];
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (modules, [_, v11, _]) = Modules::standard(root.path());
    // The repository lives on the host, as /srv/mods.git.
    let on_host = host.srv.join("mods.git");
    let copied = Command::new("cp").arg("-R").arg(&modules.bare).arg(&on_host).status();
    assert!(copied.is_ok_and(|status| status.success()), "copy the repository to the host");
    let url = format!("ssh://root@{}/srv/mods.git", host.address);
    let consumer = Consumer::new(root.path(), "app", &plan_importing(&format!("git+{url}//web/service.deploy@v1")));
    let dir = fleet.path().display().to_string();
    let ssh = format!(
        "ssh -i {dir}/id_ed25519 -o UserKnownHostsFile={dir}/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"
    );
    let (code, out, err) = consumer.deploy(&["modules", "fetch", "release.deploy"], &[("GIT_SSH_COMMAND", &ssh)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(consumer.lock().contains(&format!("git+{url}@v1 = {v11} (v1.1.0)")), "{}", consumer.lock());
    let (code, out, err) = consumer.deploy(&["--offline", "run", "release.deploy"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service-v1.1 1"), "{out}");

    // Without the user's key, git cannot log in: said, nothing written.
    let stranger =
        Consumer::new(root.path(), "stranger", &plan_importing(&format!("git+{url}//web/service.deploy@v1")));
    let unknown =
        format!("ssh -o UserKnownHostsFile={dir}/known_hosts -o BatchMode=yes -o IdentitiesOnly=yes -i /dev/null");
    let (code, _, err) = stranger.deploy(&["modules", "fetch", "release.deploy"], &[("GIT_SSH_COMMAND", &unknown)]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot list the refs") && err.contains("was not written"), "{err}");
    assert!(!stranger.dir.join("deploy.lock").exists());
}
