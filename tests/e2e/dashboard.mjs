// The dashboard scenario in Debian's chromium, driven by playwright-core.
// Run by tests/dashboard.rs:
//   node tests/e2e/dashboard.mjs BASE_URL PAUSED_RUN_ID TOKEN DEPLOY_BINARY PLAN_DIR ARTIFACTS_DIR
// BASE_URL is a `deploy serve release.deploy --token-file tokens` whose state
// has version 0.9 deployed and PAUSED_RUN_ID (version 1.0) paused at the
// gate `go` (by alice, bob); TOKEN is alice's. Every step is asserted; the first failure exits non-zero.
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const [base, pausedRun, token, binary, planDir, artifacts] = process.argv.slice(2);
if (!artifacts) {
  console.error("usage: dashboard.mjs BASE_URL PAUSED_RUN_ID TOKEN DEPLOY_BINARY PLAN_DIR ARTIFACTS_DIR");
  process.exit(2);
}

function check(condition, what) {
  if (!condition) throw new Error("failed: " + what);
  console.log("ok: " + what);
}

async function api(path) {
  const answer = await fetch(base + path);
  return answer.json();
}

async function until(what, probe, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("timed out waiting for " + what);
}

// The status text of a node in the graph (what people read, not a colour).
function nodeText(page, node) {
  return page.locator(`svg.graph a[data-node="${node}"] text[data-status]`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const children = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));

  // The overview.
  await page.goto(base + "/");
  check(await page.getByRole("heading", { name: "Overview" }).isVisible(), "the overview shows");
  check((await page.locator("ul.runs li").innerText()).includes("paused"), "the overview lists the paused run as `paused`");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.textContent) === "Skip to content", "the first Tab reaches `Skip to content`");
  await page.screenshot({ path: artifacts + "/overview.png", fullPage: true });

  // The paused run: the graph with the gate waiting.
  await page.goto(base + "/runs/" + pausedRun);
  await page.evaluate(() => { window.notReloaded = true; });
  check(await page.locator("svg.graph").isVisible(), "the run page draws the graph");
  await until("the gate to read `waiting`", async () => (await nodeText(page, "go").textContent()) === "waiting");
  check(true, "the gate `go` reads `waiting`");
  check((await nodeText(page, "build").textContent()) === "succeeded", "`build` reads `succeeded`");
  check((await page.locator("[data-run-status]").innerText()) === "paused", "the run reads `paused`");
  check(await page.getByRole("button", { name: "Resume" }).isVisible(), "a `Resume` button is offered");

  // A wrong token is refused and changes nothing.
  await page.getByLabel("Token").fill("wrong-token-0123456789");
  await page.getByRole("button", { name: "Approve", exact: true }).click();
  await until("the refusal", async () => (await page.locator("[data-action-result]").innerText()).includes("401"));
  check(true, "a wrong token is refused with 401 on the page");
  const untouched = await api("/api/runs/" + pausedRun);
  check(untouched.status === "paused" && untouched.approvals.length === 0, "after the wrong token the run is still paused, unapproved");
  check((await nodeText(page, "go").textContent()) === "waiting", "after the wrong token the gate still reads `waiting`");

  // An identity the gate's `by` list does not name is refused, and the page says so.
  await page.getByLabel("Token").fill("mallory-token-0123456789");
  await page.getByRole("button", { name: "Approve", exact: true }).click();
  await until("the 403", async () => (await page.locator("[data-action-result]").innerText()).includes("403"));
  check((await page.locator("[data-action-result]").innerText()).includes("may only be approved by alice, bob"), "mallory's approval is refused (403) and the page names who may");
  check((await api("/api/runs/" + pausedRun)).approvals.length === 0, "mallory's refusal recorded nothing");

  // Approve with alice's token: the run resumes and finishes live.
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Approve", exact: true }).click();
  await until("`ship` to run", async () => (await nodeText(page, "ship").textContent()) === "running");
  check(true, "`ship` turns `running` live");
  await until("`ship` to succeed", async () => (await nodeText(page, "ship").textContent()) === "succeeded");
  check(true, "`ship` turns `succeeded` live");
  await until("the run to succeed", async () => (await page.locator("[data-run-status]").innerText()) === "succeeded");
  check(true, "the run reads `succeeded`");
  check((await nodeText(page, "go").textContent()) === "succeeded", "the gate reads `succeeded`");
  check(await page.evaluate(() => window.notReloaded === true), "all of it without a reload");
  check((await page.locator("[data-output='ship']").textContent()).includes("shipping 1.0"), "the output of `ship` shows live");
  check((await page.locator("[data-journal]").textContent()).includes("by=alice"), "the journal shows the approval by alice");
  await page.screenshot({ path: artifacts + "/run.png", fullPage: true });

  // The rollback button first says what would be undone.
  await page.goto(base + "/");
  await page.getByLabel("Token").fill(token);
  const before = (await api("/api/runs")).length;
  await page.getByRole("button", { name: "Roll back", exact: true }).click();
  const confirmation = page.locator("[data-confirm-text]");
  await until("the rollback confirmation", async () => (await confirmation.isVisible()) && (await confirmation.innerText()).includes(pausedRun))
    .catch(async (error) => { throw new Error(error.message + ": the page says " + (await page.locator("[data-action-result]").textContent()) + " / " + (await confirmation.textContent())); });
  check((await confirmation.innerText()).includes("ship"), "the confirmation names what will be undone");
  check((await confirmation.innerText()).includes("from 1.0 to 0.9"), "the confirmation names the versions");
  await page.getByRole("button", { name: "Cancel" }).click();
  check((await api("/api/runs")).length === before, "cancelling rolls nothing back");

  // A failing run, started now from the command line, rolls back live.
  const failing = spawn(binary, ["run", "release.deploy", "--yes", "--as", "bob", "--set", "version=2.0", "--set", "fail=yes"], {
    cwd: planDir,
    stdio: "ignore",
  });
  children.push(failing);
  const failingRun = await until("the failing run to start", async () => {
    const runs = await api("/api/runs");
    return runs.find((run) => run.run_id !== pausedRun && run.status === "running")?.run_id;
  });
  await page.goto(base + "/runs/" + failingRun);
  await page.evaluate(() => { window.notReloaded = true; });
  check((await page.locator("[data-run-status]").innerText()) === "running", "the failing run's page opens while it runs");
  await until("`build` to be rolled back", async () => (await nodeText(page, "build").textContent()) === "rolled back");
  check(true, "`build` turns `rolled back` live");
  await until("the run to read `rolled back`", async () => (await page.locator("[data-run-status]").innerText()) === "rolled back");
  check(true, "the failing run reads `rolled back`");
  check((await nodeText(page, "ship").textContent()) !== "succeeded", "`ship` did not succeed");
  check(await page.evaluate(() => window.notReloaded === true), "the rollback showed without a reload");
  await page.screenshot({ path: artifacts + "/rollback.png", fullPage: true });
  await until("the failing run's row to say rolled_back", async () => (await api("/api/runs/" + failingRun)).status === "rolled_back");

  // The history lists both runs, and filters without a script.
  await page.goto(base + "/history");
  check(await page.locator(`tr[data-run-row="${pausedRun}"]`).isVisible(), "the history lists the approved run");
  check(await page.locator(`tr[data-run-row="${failingRun}"]`).isVisible(), "the history lists the failing run");
  check((await page.locator(`tr[data-run-row="${pausedRun}"]`).innerText()).includes("alice (go)"), "the history says who approved");
  await page.getByLabel("Environment").selectOption("production");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/env=production/);
  check(await page.locator(`tr[data-run-row="${pausedRun}"]`).isVisible() && await page.locator(`tr[data-run-row="${failingRun}"]`).isVisible(),
    "the history filtered by production lists both runs");
  await page.goto(base + "/history?env=staging");
  check((await page.locator("tr[data-run-row]").count()) === 0, "the history of an environment nothing ran in is empty");

  // A phone: the pages fit the width (wide tables and the graph scroll inside).
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  for (const path of ["/", "/runs/" + pausedRun, "/history"]) {
    await small.goto(base + path);
    const fits = await small.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    check(fits, `${path} fits a phone's width`);
  }
  await small.goto(base + "/runs/" + pausedRun);
  await small.screenshot({ path: artifacts + "/phone-run.png", fullPage: true });
  await phone.close();

  check(problems.length === 0, "no script errors on the pages" + (problems.length ? ": " + problems.join("; ") : ""));
  console.log("dashboard scenario passed");
} finally {
  for (const child of children) {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
  await browser.close();
}
