// Pages stay live: changes made elsewhere (a terminal) show on open pages
// without a reload. Run by tests/dashboard.rs:
//   node tests/e2e/live.mjs BASE_URL PAUSED_RUN_ID DEPLOY_BINARY PLAN_DIR TOKEN
// BASE_URL is a `deploy serve release.deploy` whose state has PAUSED_RUN_ID
// paused at the gate `go` (by alice, bob), with version 0.9 deployed.
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";

const [base, pausedRun, binary, planDir, token] = process.argv.slice(2);
if (!token) {
  console.error("usage: live.mjs BASE_URL PAUSED_RUN_ID DEPLOY_BINARY PLAN_DIR TOKEN");
  process.exit(2);
}

function check(condition, what) {
  if (!condition) throw new Error("failed: " + what);
  console.log("ok: " + what);
}

async function until(what, probe, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("timed out waiting for " + what);
}

function deploy(args) {
  execFileSync(binary, args, { cwd: planDir, env: { ...process.env, NO_COLOR: "1" }, stdio: "ignore" });
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  const overview = await context.newPage();
  overview.on("pageerror", (error) => problems.push(String(error)));
  await overview.goto(base + "/");
  await overview.evaluate(() => { window.notReloaded = true; });
  const run = await context.newPage();
  run.on("pageerror", (error) => problems.push(String(error)));
  await run.goto(base + "/runs/" + pausedRun);
  await run.evaluate(() => { window.notReloaded = true; });
  await until("the run page to read paused", async () => (await run.locator("[data-run-status]").innerText()) === "paused");
  check(!(await run.locator("[data-approvals]").innerText()).includes("alice"), "no approval shows yet");

  // An approval in a terminal shows on the open run page.
  deploy(["approve", "go", "--as", "alice"]);
  await until("the approval on the run page", async () => (await run.locator("[data-approvals]").innerText()).includes("go by alice"));
  check(true, "`deploy approve` in a terminal shows on the open run page");

  // The run resumed in a terminal: the open page follows it to its end.
  deploy(["resume", pausedRun]);
  await until("the run page to read succeeded", async () => (await run.locator("[data-run-status]").innerText()) === "succeeded");
  check(true, "`deploy resume` in a terminal shows on the open run page: succeeded");
  check(await run.evaluate(() => window.notReloaded === true), "the run page was not reloaded");

  // The overview follows: the new current version, nothing going on.
  await until("the overview to show 1.0", async () => (await overview.locator("[data-live=overview]").innerText()).includes("1.0"));
  check(true, "the overview shows the version deployed from the terminal");
  check(await overview.evaluate(() => window.notReloaded === true), "the overview was not reloaded");
  // The history at 1280 px: the Outcome column is in view, however wide the rows.
  await overview.goto(base + "/history");
  const outcome = await overview.getByRole("columnheader", { name: "Outcome" }).boundingBox();
  check(outcome && outcome.x >= 0 && outcome.x + outcome.width <= 1280, "the Outcome column is visible at 1280 px");
  // Rolling back from the overview links to the rollback run it started.
  await overview.goto(base + "/");
  await overview.getByLabel("Token").fill(token);
  await overview.getByRole("button", { name: "Roll back", exact: true }).click();
  await until("the confirmation", async () => overview.locator("[data-confirm-text]").isVisible());
  await overview.getByRole("button", { name: "Confirm roll back" }).click();
  const started = overview.locator("[data-started-run]");
  await until("the link to the rollback run", async () => (await started.count()) === 1);
  const rollbackRun = await started.getAttribute("data-started-run");
  await started.click();
  await until("the rollback run's page", async () => overview.url().endsWith("/runs/" + rollbackRun));
  check((await overview.locator("h1").innerText()).includes(rollbackRun), "the link opens the rollback run's page");
  check(problems.length === 0, "no script errors: " + problems.join("; "));
  console.log("live scenario passed");
} finally {
  await browser.close();
}
