// A canary paused at its analysis gate: the run page offers Promote
// (approve the gate) and Abort and roll back (reject it) with the gate's
// last analysis. Run by tests/dashboard.rs:
//   node tests/e2e/canary.mjs BASE_URL PAUSED_RUN_ID DEPLOY_BINARY PLAN_DIR TOKEN
// BASE_URL is a `deploy serve release.deploy` whose state has PAUSED_RUN_ID
// paused after the canary's first step (web-1) at the gate `bake` (by alice).
import { spawn, spawnSync } from "node:child_process";
import { chromium } from "playwright-core";

const [base, pausedRun, binary, planDir, token] = process.argv.slice(2);
if (!token) {
  console.error("usage: canary.mjs BASE_URL PAUSED_RUN_ID DEPLOY_BINARY PLAN_DIR TOKEN");
  process.exit(2);
}

function check(condition, what) {
  if (!condition) throw new Error("failed: " + what);
  console.log("ok: " + what);
}

async function until(what, probe, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("timed out waiting for " + what);
}

function deploy(args) {
  return spawnSync(binary, args, { cwd: planDir, env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8" });
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(String(error)));

  // Promote: the canary goes on to 100% and the run succeeds.
  await page.goto(base + "/runs/" + pausedRun);
  const block = page.locator("[data-canary=ship]");
  check(await block.isVisible(), "the paused canary shows its controls");
  const text = await block.innerText();
  check(text.includes("paused after step 1/2 (canary 25%) on web-1"), "it names the step and the hosts done: " + text);
  check(text.includes("Promote 2.0 past the canary?") && text.includes("by alice"), "it names the question and who may answer");
  check((await block.locator("[data-last-analysis]").innerText()).includes("Last analysis: pass"), "it shows the last analysis");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Promote", exact: true }).click();
  await until("the run to succeed", async () => (await page.locator("[data-run-status]").innerText()) === "succeeded");
  check(true, "Promote approved the gate and the run succeeded");

  // Abort: a second canary run, whose page is open while its first step
  // runs, pauses the same way: the open page shows the controls and the
  // analysis without a reload; Abort rolls it back.
  const second = spawn(binary, ["run", "release.deploy", "--set", "version=3.0", "--set", "delay=2"], {
    cwd: planDir, env: { ...process.env, NO_COLOR: "1" }, stdio: "ignore",
  });
  const secondExit = new Promise((resolve) => second.on("exit", (code) => resolve(code)));
  let abortRun = "";
  await until("the second run to start", async () => {
    const listed = deploy(["history", "--json"]);
    const runs = listed.status === 0 ? JSON.parse(listed.stdout) : [];
    const running = runs.find((run) => run.status === "running");
    if (running) abortRun = running.run_id;
    return Boolean(running);
  });
  await page.goto(base + "/runs/" + abortRun);
  check(!(await page.locator("[data-canary=ship]").isVisible()), "no canary controls while its first step runs");
  check((await secondExit) === 3, "the second run paused at the canary");
  await until("the canary's controls on the open page", async () => {
    const controls = page.locator("[data-canary=ship]");
    return (await controls.count()) === 1 && (await controls.isVisible()) &&
      (await controls.innerText()).includes("paused after step 1/2 (canary 25%) on web-1");
  });
  check((await page.locator("[data-canary=ship] [data-last-analysis]").innerText()).includes("Last analysis: pass"),
    "the open page shows the last analysis without a reload");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Abort and roll back", exact: true }).click();
  await until("the run to be rolled back", async () => (await page.locator("[data-run-status]").innerText()) === "rolled back" ||
    (await page.locator("[data-run-status]").innerText()) === "rolled_back");
  check(true, "Abort rejected the gate and rolled the run back");
  check(problems.length === 0, "no script errors: " + problems.join("; "));
  console.log("canary scenario passed");
} finally {
  await browser.close();
}
