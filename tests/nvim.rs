//! A real editor: headless Neovim loads editors/nvim/deploy.lua, opens a
//! plan, and reports what the language server gave it: the diagnostics and
//! where go-to-definition lands (in a module of the plan, and in the stdlib). Skipped (with a message) when `nvim` is not
//! installed, except in CI (`CI=true`), where it must run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, root, Test};

const MODULE: &str = "/// Database stages.\ntemplate stage migrate(version: string) {\n  run \"./migrate ${version}\"\n  rollback { run \"./migrate down\" }\n}\n";

const PLAN: &str = "import \"./stages/db.deploy\" as db\n\nstage build {\n  run \"make\"\n  rollback { run \"make clean\" }\n}\n\nstage migrate from db.migrate {\n  needs   = [biuld]\n  version = \"1.0\"\n}\n\nimport \"std/http\" as http\n\ngate up from http.healthy {\n  url = \"http://127.0.0.1:1\"\n}\n";

/// Lua run inside Neovim: waits for diagnostics, jumps to a definition,
/// writes what it saw as JSON.
const SCRIPT: &str = r#"
local out = os.getenv("DEPLOY_NVIM_RESULT")
local ok, err = pcall(function()
  vim.opt.runtimepath:append(os.getenv("DEPLOY_EDITORS") .. "/vim")
  vim.cmd("filetype plugin on")
  local deploy = dofile(os.getenv("DEPLOY_EDITORS") .. "/nvim/deploy.lua")
  deploy.setup({ cmd = { os.getenv("DEPLOY_BIN"), "lsp" } })
  vim.cmd("edit " .. os.getenv("DEPLOY_PLAN"))
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(diagnostics, { code = d.code, lnum = d.lnum, col = d.col, end_col = d.end_col, message = d.message })
  end
  -- Go to definition of `migrate` in `from db.migrate` (line 8, 0-based 7).
  vim.api.nvim_win_set_cursor(0, { 8, 23 })
  vim.lsp.buf.definition()
  vim.wait(20000, function() return vim.api.nvim_get_current_buf() ~= buf end, 50)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local jumped = vim.api.nvim_get_current_buf()
  -- Go to definition of `healthy` in `from http.healthy` (line 15): into the stdlib's read-only copy.
  vim.cmd("buffer " .. buf)
  vim.api.nvim_win_set_cursor(0, { 15, 19 })
  vim.lsp.buf.definition()
  vim.wait(20000, function()
    local now = vim.api.nvim_get_current_buf()
    return now ~= buf and now ~= jumped
  end, 50)
  local std_cursor = vim.api.nvim_win_get_cursor(0)
  local result = {
    filetype = vim.bo[buf].filetype,
    diagnostics = diagnostics,
    jumped_to = vim.api.nvim_buf_get_name(jumped),
    line = cursor[1],
    col = cursor[2],
    std_jumped_to = vim.api.nvim_buf_get_name(0),
    std_readonly = vim.bo.readonly,
    std_line = std_cursor[1],
  }
  local file = io.open(out, "w")
  file:write(vim.fn.json_encode(result))
  file:close()
end)
if not ok then
  local file = io.open(out, "w")
  file:write(vim.fn.json_encode({ error = tostring(err) }))
  file:close()
end
vim.cmd("qa!")
"#;

fn nvim_available() -> bool {
    Command::new("nvim").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

#[test]
fn neovim_gets_diagnostics_and_jumps_to_a_definition() {
    if !nvim_available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("nvim is not installed, and CI=true: install the Debian package `neovim`");
        }
        eprintln!(
            "SKIPPED neovim_gets_diagnostics_and_jumps_to_a_definition: nvim is not installed (apt-get install neovim)"
        );
        return;
    }
    let test = Test::new().file("stages/db.deploy", MODULE).plan(PLAN).file("test.lua", SCRIPT);
    let result_path = test.path().join("result.json");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-c"])
        .arg(format!("luafile {}", test.path().join("test.lua").display()))
        .current_dir(test.path())
        .env("DEPLOY_NVIM_RESULT", &result_path)
        .env("DEPLOY_EDITORS", root().join("editors"))
        .env("DEPLOY_BIN", binary())
        .env("DEPLOY_PLAN", test.path().join("release.deploy"))
        .env("XDG_CACHE_HOME", test.path().join(".cache"))
        .env_remove("DEPLOY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start nvim: {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nvim did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&result_path).unwrap_or_else(|e| panic!("nvim wrote no result: {e}"));
    let result: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(result.get("error").is_none(), "{result:#}");
    assert_eq!(result["filetype"], "deploy");

    // The same diagnostic `deploy check` reports: E0100 on `biuld` (line 9, columns 13..18).
    let diagnostics = result["diagnostics"].as_array().cloned().unwrap_or_default();
    assert_eq!(diagnostics.len(), 1, "{result:#}");
    assert_eq!(diagnostics[0]["code"], "E0100");
    assert_eq!((diagnostics[0]["lnum"].as_u64(), diagnostics[0]["col"].as_u64()), (Some(8), Some(13)));
    assert_eq!(diagnostics[0]["end_col"].as_u64(), Some(18));
    assert!(diagnostics[0]["message"].as_str().unwrap_or_default().contains("biuld"), "{result:#}");

    // Go to definition landed on the template in the imported module.
    let jumped = result["jumped_to"].as_str().unwrap_or_default();
    assert!(jumped.ends_with("stages/db.deploy"), "{result:#}");
    assert_eq!((result["line"].as_u64(), result["col"].as_u64()), (Some(2), Some(15)), "{result:#}");

    // ... and into the stdlib: its read-only copy, on the template's line.
    let std_jumped = result["std_jumped_to"].as_str().unwrap_or_default();
    assert!(std_jumped.ends_with(&format!("deploy/std/{}/http.deploy", env!("CARGO_PKG_VERSION"))), "{result:#}");
    assert_eq!(result["std_readonly"], true, "{result:#}");
    let module = deploy::stdlib::module("std/http").unwrap_or_default();
    let line = module.lines().position(|l| l.contains("template gate healthy")).map(|i| i as u64 + 1);
    assert_eq!(result["std_line"].as_u64(), line, "{result:#}");
}
