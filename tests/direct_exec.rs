//! Local steps without shell syntax are executed directly instead of
//! through `sh -c`: the results must be the same either way
//! (`DEPLOY_DIRECT_EXEC=0` forces the shell).

mod common;

use common::{Output, Test};

/// Commands without shell syntax: output, environment, arguments, cwd,
/// exit codes, a missing program, a file that is not executable and a
/// script without a shebang.
const COMMANDS: &[&str] = &[
    "ls -1 data",
    "env",
    "./bin/show-args one two=2 --three a,b",
    "./bin/no-shebang",
    "ls data/missing",
    "no-such-program-4711 x",
    "./data/b.txt",
    "false",
    "true",
];

fn test(command: &str) -> Test {
    use std::os::unix::fs::PermissionsExt;
    let plan = format!("pipeline \"direct\" {{}}\nstage s {{\n  run \"{command}\"\n  irreversible = \"test\"\n}}\n");
    let test = Test::new()
        .plan(&plan)
        .file("data/a.txt", "a\n")
        .file("data/b.txt", "b\n")
        .file("bin/show-args", "#!/bin/sh\nfor a in \"$@\"; do echo \"arg <$a>\"; done\necho \"cwd $(pwd)\" >&2\n")
        .file("bin/no-shebang", "echo \"no shebang in $PWD\"\nexit 5\n");
    for script in ["bin/show-args", "bin/no-shebang"] {
        std::fs::set_permissions(test.path().join(script), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    test
}

/// What the step printed (stream and line, in order) and how it ended,
/// without times and run ids.
fn results(output: &Output) -> Vec<String> {
    output
        .events()
        .iter()
        .filter_map(|event| match event["type"].as_str()? {
            "step_output" => {
                let line = event["line"].as_str().unwrap_or_default();
                if line.starts_with("DEPLOY_RUN_ID=") || line.starts_with("DEPLOY_DIRECT_EXEC=") {
                    return None;
                }
                Some(format!("{} {line}", event["stream"]))
            }
            "node_finished" => Some(format!("finished {} {} {}", event["status"], event["exit_code"], event["error"])),
            _ => None,
        })
        .collect()
}

fn run(test: &Test, direct: bool) -> Output {
    // From another directory: relative programs are found from the plan's
    // directory, as `sh -c` finds them.
    let elsewhere = tempfile::tempdir().unwrap();
    let plan = test.path().join("release.deploy").display().to_string();
    let mut command = test.command(&["run", &plan, "--json"]);
    command.current_dir(elsewhere.path()).env("DEPLOY_DIRECT_EXEC", if direct { "1" } else { "0" });
    let output = command.output().unwrap();
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

#[test]
fn direct_and_shell_execution_give_the_same_results() {
    let mut all = String::new();
    for command in COMMANDS {
        // Each in its own directory: no state (previous version) shared.
        let (test, other) = (test(command), test(command));
        let (direct, shell) = (run(&test, true), run(&other, false));
        assert_eq!(direct.code, shell.code, "{command}: {}\n---\n{}", direct.stderr, shell.stderr);
        let (mut direct, mut shell) = (results(&direct), results(&shell));
        if *command == "env" {
            // `sh` passes the environment on in its own order.
            direct.sort();
            shell.sort();
        }
        let other_dir = other.path().canonicalize().unwrap().display().to_string();
        let shell: Vec<String> = shell
            .iter()
            .map(|line| line.replace(&other_dir, &test.path().canonicalize().unwrap().display().to_string()))
            .collect();
        assert!(!direct.is_empty(), "{command}: no events");
        assert_eq!(direct, shell, "{command}");
        all.push_str(&direct.join("\n").replace(&test.path().canonicalize().unwrap().display().to_string(), "PLAN"));
        all.push('\n');
    }
    for expected in [
        "a.txt",
        "b.txt",
        "arg <two=2>",
        "arg <a,b>",
        "cwd PLAN",
        "no shebang in PLAN",
        "status 5",
        "not found",
        "Permission denied",
        "No such file or directory",
        "DEPLOY_STAGE=s",
        "PWD=PLAN",
        "finished \"succeeded\"",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
}

#[test]
fn a_plain_command_runs_without_a_shell_in_between() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new()
        .plan("pipeline \"direct\" {}\nstage s {\n  run \"./parent\"\n  run \"./parent # through sh\"\n  irreversible = \"test\"\n}\n")
        .file("parent", "#!/bin/sh\necho \"parent $(cat /proc/$PPID/comm)\"\n");
    std::fs::set_permissions(test.path().join("parent"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert!(output.stdout.contains("parent deploy"), "{}", output.stdout);
    assert!(output.stdout.contains("parent sh"), "{}", output.stdout);
}
