// The dashboard in a real browser. Starts `kiki serve --demo` on a fresh
// SQLite database and a free port, drives the system Chromium with
// playwright-core through sign-in (password and two-factor step), the
// overview, the organisation switcher, a date-range preset, the CSV export,
// the phone width, the campaign list with a filter, a campaign's detail
// drilled down to an ad, pause and resume, the approvals queue, the notifications centre, customers and
// LTV (sort, a customer, a fit, an upload with its preview), the settings
// (members, invitations, an API key created and revoked), the account page,
// the audit log with its chain verification, sign-out and the password-reset
// and registration pages, and fails on any console error, any Content
// Security Policy violation, any failed request and any serious or critical
// axe-core finding. The pages run with their CSP enforced; axe is evaluated
// through the DevTools protocol, which the page's CSP does not govern.
//
//   node dashboard.test.mjs [--screenshots DIR]
//
// KIKI_BIN: the kiki binary (default $CARGO_TARGET_DIR/debug/kiki, else
// ../target/debug/kiki). CHROMIUM: the browser (default the Debian package's
// /usr/lib/chromium/chromium). Screenshots go to DIR (default
// $CARGO_TARGET_DIR/browser-screenshots); `--screenshots ../docs/screenshots`
// refreshes the ones in the docs.

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");

const DEMO_EMAIL = "demo@kiki.local";
const DEMO_PASSWORD = "kiki-demo-password";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const MONEY = /\$\d{1,3}(,\d{3})*\.\d{2}/;

const targetDir = process.env.CARGO_TARGET_DIR || join(repo, "target");
const args = process.argv.slice(2);
const shotsArg = args.indexOf("--screenshots");
const SHOTS = resolve(shotsArg >= 0 ? args[shotsArg + 1] : join(targetDir, "browser-screenshots"));
const KIKI_BIN = process.env.KIKI_BIN || join(targetDir, "debug", "kiki");
const CHROMIUM =
  process.env.CHROMIUM ||
  ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

// ---------------------------------------------------------------- harness

const started = Date.now();
const failures = [];
let checks = 0;

function check(ok, what, detail) {
  checks++;
  if (ok) {
    console.log(`  ok   ${what}`);
  } else {
    console.log(`  FAIL ${what}${detail === undefined ? "" : `: ${detail}`}`);
    failures.push(what);
  }
  return ok;
}

function step(name) {
  console.log(`\n- ${name}`);
}

async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** RFC 6238 TOTP (HMAC-SHA1, 30-second steps, six digits) of a base32 secret. */
function totp(base32, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

/** Starts the demo server; resolves once it printed the sign-in and /readyz answers. */
async function startServer(work) {
  const port = await freePort();
  const bin = join(work, "kiki");
  // A copy: a build sharing the target directory cannot replace it midway.
  await copyFile(KIKI_BIN, bin);
  const env = {
    ...process.env,
    KIKI__DATABASE__URL: `sqlite://${join(work, "kiki.db")}`,
    KIKI__HTTP__BIND: `127.0.0.1:${port}`,
    KIKI__LOG__LEVEL: "warn",
    // Fast password hashing: the test signs in a few times on two cores.
    KIKI__AUTH__ARGON2__MEMORY_KIB: "1024",
    KIKI__AUTH__ARGON2__ITERATIONS: "1",
  };
  const child = spawn(bin, ["serve", "--demo"], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kiki exited with ${child.exitCode}:\n${log}`);
    if (log.includes(DEMO_PASSWORD)) {
      try {
        if ((await fetch(`${base}/readyz`)).ok) return { child, base, log: () => log };
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGTERM");
  throw new Error(`the demo did not become ready in 180 s:\n${log}`);
}

/** Problems the browser reports on its own: console errors, CSP violations, uncaught exceptions, failed requests. */
/** Paths whose 401 answer a step asks for on purpose (a wrong password or code); the browser logs those too. */
const expected401 = new Set();

function watch(context) {
  const problems = [];
  // A CDP binding and an init script are not governed by the page's CSP, so
  // every violation is reported even though the page may run no inline code.
  context.exposeBinding("__kikiCspViolation", (_src, v) => {
    problems.push(`CSP violation: ${v.directive} blocked ${v.blocked} (${v.source})`);
  });
  context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__kikiCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI || "inline",
        source: `${e.sourceFile || e.documentURI}:${e.lineNumber}`,
      });
    });
  });
  context.on("console", (m) => {
    const at = m.location().url ? new URL(m.location().url).pathname : "";
    if (/status of 401/.test(m.text()) && expected401.has(at)) return;
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) {
      problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    }
  });
  context.on("weberror", (e) => problems.push(`uncaught: ${e.error().message}`));
  context.on("requestfailed", (r) => {
    // Aborted: a download handed to the download manager, or a request (the
    // favicon) still in flight when the page moved on. Blocked and broken
    // loads fail with their own codes (ERR_BLOCKED_BY_CSP, SRI mismatches).
    if (r.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  context.on("response", (r) => {
    const url = new URL(r.url());
    if (r.status() === 401 && expected401.has(url.pathname)) return;
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${url.pathname}${url.search}`);
  });
  return problems;
}

/** Runs axe-core on the page as it is; returns the serious and critical violations. */
async function axe(page, label) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
      })),
    ),
  );
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result.filter((x) => !bad.includes(x))) {
    console.log(`  note axe ${v.impact} ${v.id} on ${label}: ${v.help} (${v.nodes.join(", ")})`);
  }
  check(
    bad.length === 0,
    `axe-core: no serious or critical violation on ${label}`,
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(", ")}`).join("; "),
  );
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** True while the document loaded first is still the one shown (htmx swapped content in place). */
async function samePage(page) {
  return page.evaluate(() => window.__kikiMarker === 1);
}

async function tiles(page) {
  return page.$$eval("li.tile[data-kpi]", (ls) =>
    Object.fromEntries(ls.map((l) => [l.dataset.kpi, l.querySelector(".value").textContent.trim()])),
  );
}

async function chartDrawn(page) {
  return page.evaluate(() => {
    const fig = document.querySelector("figure.chart");
    const canvas = fig && fig.querySelector(".chart-live canvas");
    return Boolean(
      fig && fig.classList.contains("live") && canvas && canvas.width > 0 && !fig.querySelector(".chart-live").hidden,
    );
  });
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------- the run

async function run(base, pageProblems) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a CI container has no user namespaces for Chromium's sandbox.
    // Containers often give /dev/shm only 64 MB.
    args: ["--disable-dev-shm-usage", ...(process.getuid?.() === 0 ? ["--no-sandbox"] : [])],
  });
  try {
    const context = await browser.newContext({
      baseURL: base,
      viewport: DESKTOP,
      locale: "en-US",
      timezoneId: "UTC",
      acceptDownloads: true,
    });
    const problems = watch(context);
    pageProblems.push(problems);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);

    step("sign-in");
    const landing = await page.goto("/");
    check(new URL(page.url()).pathname === "/sign-in", "/ leads to the sign-in page", page.url());
    check((await page.textContent("h1")).trim() === "Sign in", "the sign-in page has its heading");
    // (Not a second request for the headers: it would replace the sign-in
    // cookie the form's token must match.)
    const csp = (await landing.allHeaders())["content-security-policy"] || "";
    check(/script-src 'self'/.test(csp) && !/unsafe/.test(csp), "the page is served with the strict CSP", csp);
    await shot(page, "sign-in");
    await axe(page, "the sign-in page");

    await page.fill("#email", DEMO_EMAIL);
    await page.fill("#password", "not-the-password");
    expected401.add("/sign-in");
    const refused = page.waitForResponse((r) => r.request().method() === "POST");
    await page.click("form[action='/sign-in'] button[type=submit]");
    check((await refused).status() === 401, "the refusal is a 401 page", (await refused).status());
    await page.waitForSelector("#sign-in-error");
    expected401.delete("/sign-in");
    const error = (await page.textContent("#sign-in-error")).trim();
    check(/not right/i.test(error), "a wrong password shows the error", error);
    check((await page.inputValue("#email")) === DEMO_EMAIL, "the email stays filled in");
    await shot(page, "sign-in-error");
    await axe(page, "the sign-in page with its error");

    await page.fill("#password", DEMO_PASSWORD);
    await Promise.all([page.waitForURL("**/app**"), page.click("form[action='/sign-in'] button[type=submit]")]);
    check(new URL(page.url()).pathname === "/app", "signing in opens the overview", page.url());
    const userLabel = (await page.textContent("header .user")).trim();
    check(/^Demo User/.test(userLabel), "the header names the signed-in user", userLabel);

    step("overview of the agency");
    check((await page.textContent("main h1")).trim() === "Overview", "the overview has its heading");
    const agency = (await page.textContent(".switcher summary")).replace("Organisation:", "").trim();
    check(agency === "Demo Agency", "the demo user starts in the agency", agency);
    // An agency opens on the all-clients roll-up, with a row per organisation.
    const rollupTiles = await tiles(page);
    check(MONEY.test(rollupTiles.spend || ""), "the roll-up shows the clients' ad spend", rollupTiles.spend);
    const orgRows = await page.$$eval("tbody tr[data-organisation]", (rs) => rs.map((r) => r.dataset.organisation));
    check(orgRows.length >= 2, "the roll-up lists its organisations", orgRows.join(", "));
    await shot(page, "overview-agency");
    await axe(page, "the agency's all-clients roll-up");
    // The agency runs no campaigns itself (its clients do): its own view is empty.
    await Promise.all([
      page.waitForURL(/view=organisation/),
      page.click("nav.views a:has-text('This organisation only')"),
    ]);
    await page.waitForFunction(() => document.querySelector("main")?.textContent.includes("No figures in this period"));
    check(
      (await page.textContent("main")).includes("No figures in this period"),
      "the agency's own overview says it has no figures",
    );
    const agencyTiles = await tiles(page);
    await axe(page, "the agency's own overview");

    step("organisation switcher");
    await page.evaluate(() => (window.__kikiMarker = 1));
    await page.click(".switcher summary");
    const shop = page.locator(".switcher ul a", { hasText: "Demo Shop" }).first();
    check(await shop.isVisible(), "the switcher opens and lists Demo Shop");
    const shopName = (await shop.evaluate((a) => a.firstChild.textContent)).trim();
    await Promise.all([page.waitForURL(/[?&]org=/), shop.click()]);
    await page.waitForFunction(
      (name) => document.querySelector(".switcher summary")?.textContent.includes(name),
      shopName,
    );
    check(await samePage(page), "the switch swapped the page in place (htmx, no full load)");
    check(
      (await page.textContent(".switcher summary")).includes(shopName),
      `the header names the active organisation (${shopName})`,
    );
    check((await page.title()).startsWith("Overview"), "the title is the overview's", await page.title());
    const shopTiles = await tiles(page);
    check(Object.keys(shopTiles).length >= 10, `${shopName}'s overview shows its KPI tiles`, JSON.stringify(shopTiles));
    check(MONEY.test(shopTiles.spend || ""), "ad spend is money in dollars", shopTiles.spend);
    check(MONEY.test(shopTiles.revenue || ""), "revenue is money in dollars", shopTiles.revenue);
    check(
      JSON.stringify(shopTiles) !== JSON.stringify(agencyTiles),
      `${shopName}'s figures are its own, not the agency's`,
    );
    const platformRows = await page.$$eval("tbody tr[data-platform]", (rs) => rs.map((r) => r.dataset.platform));
    check(platformRows.length >= 2, `${shopName} has a platform breakdown`, platformRows.join(", "));
    check(
      await page.waitForFunction(() => document.querySelector("figure.chart.live canvas")).then(() => true, () => false),
      "uPlot drew the chart on a canvas after the swap (app.js ran under the CSP)",
    );
    check(await chartDrawn(page), "the interactive chart replaced the static one");
    await shot(page, "overview");
    await axe(page, "the overview with figures");
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press("Tab");
    check(
      (await page.evaluate(() => document.activeElement?.textContent.trim())) === "Skip to content",
      "the first Tab reaches the skip link",
    );
    await page.keyboard.press("Enter");
    check(
      (await page.evaluate(() => document.activeElement?.id)) === "main",
      "the skip link moves to the content",
    );

    step("date range preset");
    const current = await page.textContent(".presets a[aria-current]");
    const period = (await page.textContent(".range .period strong")).trim();
    const seven = page.locator(".presets a[href*='range=7d']");
    await Promise.all([page.waitForURL(/range=7d/), seven.click()]);
    await page.waitForFunction((p) => document.querySelector(".range .period strong")?.textContent.trim() !== p, period);
    check(await samePage(page), "the preset swapped the page in place (htmx, no full load)");
    check(new URL(page.url()).searchParams.has("org"), "the range link keeps the organisation in the URL", page.url());
    const now = (await page.textContent(".presets a[aria-current]")).trim();
    check(now !== current.trim() && /7/.test(now), "the chosen preset is marked current", `${current} -> ${now}`);
    const sevenTiles = await tiles(page);
    check(MONEY.test(sevenTiles.spend || ""), "the 7-day spend is money", sevenTiles.spend);
    check(sevenTiles.spend !== shopTiles.spend, "the figures follow the range", `${sevenTiles.spend} vs ${shopTiles.spend}`);
    check(
      await page.waitForFunction(() => document.querySelector("figure.chart.live canvas")).then(() => true, () => false),
      "the chart is drawn for the new range",
    );
    await shot(page, "overview-7-days");
    const wide = await page.$eval("figure.chart.live canvas", (c) => c.getBoundingClientRect().width);
    await page.setViewportSize({ width: 800, height: 800 });
    const narrow = await page
      .waitForFunction((w) => document.querySelector("figure.chart.live canvas").getBoundingClientRect().width < w - 200, wide)
      .then(() => page.$eval("figure.chart.live canvas", (c) => c.getBoundingClientRect().width), () => wide);
    check(narrow < wide - 200, "the swapped-in chart follows a narrower window", `${wide} -> ${narrow} px`);
    await page.setViewportSize(DESKTOP);

    step("custom range form");
    await page.click(".range details.custom summary");
    const until = await page.inputValue(".range-form input[name=until]");
    const since = new Date(Date.parse(`${until}T00:00:00Z`) - 13 * 86_400_000).toISOString().slice(0, 10);
    await page.fill(".range-form input[name=since]", since);
    await page.selectOption(".range-form select[name=compare]", "none");
    const before = (await page.textContent(".range .period strong")).trim();
    await Promise.all([page.waitForURL(/range=custom/), page.click(".range-form button[type=submit]")]);
    await page.waitForFunction((p) => document.querySelector(".range .period strong")?.textContent.trim() !== p, before);
    const query = new URL(page.url()).searchParams;
    check(
      query.get("since") === since && query.get("until") === until && query.get("compare") === "none" && query.has("org"),
      "the form puts the custom range in the URL",
      page.url(),
    );
    check(await samePage(page), "the form swapped the page in place (htmx, no full load)");
    const custom = (await page.textContent(".range .period")).replace(/\s+/g, " ").trim();
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const dayText = (iso) => {
      const [y, m, d] = iso.split("-").map(Number);
      return `${d} ${months[m - 1]} ${y}`;
    };
    check(custom.startsWith(`${dayText(since)} – ${dayText(until)}`), "the period names the chosen days", custom);
    const customTiles = await tiles(page);
    check(MONEY.test(customTiles.spend || ""), "the custom range's spend is money", customTiles.spend);
    check(
      (await page.$$("li.tile .change")).length === 0,
      "with no comparison the tiles show no change",
    );
    check(
      await page.waitForFunction(() => document.querySelector("figure.chart.live canvas")).then(() => true, () => false),
      "the chart is drawn for the custom range",
    );
    await axe(page, "the overview with the custom range open");

    step("CSV export");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[download]")]);
    const csvPath = await download.path();
    const csv = parseCsv((await readFile(csvPath, "utf8")).trim());
    check(csv.length >= 2, "the CSV has a header and rows", `${csv.length} lines`);
    const header = csv[0].map((h) => h.toLowerCase());
    check(header.includes("platform"), "the CSV header names the platform column", csv[0].join(","));
    const width = csv[0].length;
    check(csv.every((r) => r.length === width), "every CSV row has as many fields as the header");
    const pIdx = header.indexOf("platform");
    const csvPlatforms = csv.slice(1).map((r) => r[pIdx]);
    const shown = await page.$$eval("tbody tr[data-platform]", (rs) => rs.map((r) => r.dataset.platform));
    check(
      [...shown].sort().join() === [...csvPlatforms].sort().join(),
      "the CSV has the platforms the page shows",
      `${csvPlatforms} vs ${shown}`,
    );
    check(/^kiki-platforms-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/.test(download.suggestedFilename()), "the CSV is named after its days", download.suggestedFilename());

    step("phone width");
    const phone = await context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(page.url());
    await phone.waitForFunction(() => document.querySelector("figure.chart.live canvas"));
    const overflow = await phone.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      view: window.innerWidth,
    }));
    check(
      overflow.doc <= overflow.view && overflow.body <= overflow.view,
      "no horizontal overflow at 390 px",
      JSON.stringify(overflow),
    );
    check(await chartDrawn(phone), "the chart is drawn at phone width");
    await shot(phone, "overview-phone");
    await axe(phone, "the overview at phone width");
    await phone.close();

    step("campaigns");
    await Promise.all([page.waitForURL("**/app/campaigns?**"), page.click("nav.main-nav a:text-is('Campaigns')")]);
    check((await page.textContent("main h1")).trim() === "Campaigns", "the navigation opens the campaign list");
    check(new URL(page.url()).searchParams.has("org"), "the campaign list stays in the chosen organisation", page.url());
    check(
      (await page.getAttribute("nav.main-nav a:text-is('Campaigns')", "aria-current")) === "page",
      "the navigation marks Campaigns as the current page",
    );
    const campaignRows = await page.$$eval("tbody tr[data-campaign]", (rs) => rs.length);
    check(campaignRows >= 1, `${shopName} lists its campaigns`, `${campaignRows} rows`);
    await shot(page, "campaigns");
    await axe(page, "the campaign list");
    await page.selectOption("form.filters select[name=status]", "active");
    await Promise.all([page.waitForURL("**status=active**"), page.click("form.filters button[type=submit]")]);
    const statuses = await page.$$eval("tbody tr[data-campaign] .status", (ss) => ss.map((s) => s.textContent.trim()));
    check(
      statuses.length >= 1 && statuses.every((s) => s === "Active"),
      "the status filter keeps the active campaigns, in the URL",
      `${page.url()}: ${statuses.join(", ")}`,
    );
    await axe(page, "the filtered campaign list");

    step("campaign detail and drill-down");
    const campaignName = (await page.textContent("tbody tr[data-campaign] th a")).trim();
    await Promise.all([page.waitForURL("**/app/campaigns/*"), page.click("tbody tr[data-campaign] th a")]);
    check((await page.textContent("main h1")).includes(campaignName), "the row opens its campaign", campaignName);
    const twinText = (await page.textContent("section[aria-labelledby=twin]")).replace(/\s+/g, " ");
    check(/median \(p50\)/.test(twinText), "the detail shows the twin's result", twinText.slice(0, 200));
    check((await page.$$("tr.transition")).length >= 1, "the detail shows the status history");
    check((await page.$$("li.creative")).length >= 1, "the detail lists the creatives with their verdicts");
    await page.waitForFunction(() => document.querySelector("figure.chart.live canvas"));
    check(await chartDrawn(page), "the campaign's chart is drawn");
    await shot(page, "campaign");
    await axe(page, "the campaign detail");
    await Promise.all([page.waitForURL("**adset=**"), page.click("tr.child th a")]);
    check((await page.textContent("#figures")).includes("Ad set"), "an ad set row opens the ad set's figures");
    const adLinks = await page.$$("tr.child th a");
    check(adLinks.length >= 1, "the ad set lists its ads");
    await Promise.all([page.waitForURL("**ad=**"), page.click("tr.child th a")]);
    const adHeading = (await page.textContent("#figures")).trim();
    check(/^Figures: Ad /.test(adHeading), "an ad row opens the ad's figures", adHeading);
    const adDays = await page.$$eval("tr[data-day]", (rs) => rs.length);
    check(adDays >= 1, "the ad has its daily table", `${adDays} days`);
    check(
      (await page.getAttribute("nav.crumbs li:last-child a", "aria-current")) === "page",
      "the breadcrumb marks the ad as the current level",
    );
    await axe(page, "an ad's figures");

    step("pause and resume");
    await Promise.all([page.waitForURL("**done=paused**"), page.click("button[data-action=pause]")]);
    check((await page.textContent(".flash")).includes("paused"), "pausing says so");
    check((await page.textContent("main h1 .status")).trim() === "Paused", "the campaign is paused");
    await axe(page, "the campaign after pausing");
    await Promise.all([page.waitForURL("**done=resumed**"), page.click("button[data-action=resume]")]);
    check((await page.textContent(".flash")).includes("runs again"), "resuming says so");
    check((await page.textContent("main h1 .status")).trim() === "Active", "the campaign runs again");

    step("approvals");
    await Promise.all([page.waitForURL("**/app/approvals?**"), page.click("nav.main-nav a:text-is('Approvals')")]);
    check((await page.textContent("main h1")).trim() === "Approvals", "the navigation opens the approvals queue");
    const pendingCount = await page.$$eval("li.approval", (ls) => ls.length);
    check(pendingCount >= 1, `${shopName} has a request waiting for approval`, `${pendingCount}`);
    const askText = (await page.textContent("li.approval")).replace(/\s+/g, " ");
    check(/Budget asked\s*\$[\d,]+\.\d{2} a day/.test(askText), "the request shows the budget asked", askText.slice(0, 200));
    check(/The twin (approves|refuses)/.test(askText), "the request shows the twin's verdict", askText.slice(0, 200));
    await shot(page, "approvals");
    await axe(page, "the approvals queue");

    step("notifications");
    await Promise.all([page.waitForURL("**/app/notifications?**"), page.click("nav.main-nav a[href^='/app/notifications']")]);
    check((await page.textContent("main h1")).trim() === "Notifications", "the navigation opens the notifications centre");
    check(
      (await page.getAttribute("nav.main-nav a[href^='/app/notifications']", "aria-current")) === "page",
      "the navigation marks Notifications as the current page",
    );
    const unreadHeading = (await page.textContent("#list")).trim();
    check(/^\d+ unread$/.test(unreadHeading), "the page counts the unread notifications", unreadHeading);
    await shot(page, "notifications");
    await axe(page, "the notifications centre");

    step("customers and LTV");
    await Promise.all([page.waitForURL("**/app/customers?**"), page.click("nav.main-nav a:text-is('Customers')")]);
    check((await page.textContent("main h1")).trim() === "Customers and lifetime value", "the navigation opens customers and LTV");
    check(new URL(page.url()).searchParams.has("org"), "the customers page stays in the chosen organisation", page.url());
    check(
      (await page.getAttribute("nav.main-nav a:text-is('Customers')", "aria-current")) === "page",
      "the navigation marks Customers as the current page",
    );
    const modelText = (await page.textContent("dl[data-model]")).replace(/\s+/g, " ");
    check(/Model\s*(MBG\/NBD|Pareto\/NBD) \(version \d+\)/.test(modelText), "the demo's fitted model is shown with its version", modelText.slice(0, 160));
    const diagText = (await page.textContent("dl[data-diagnostics]")).replace(/\s+/g, " ");
    check(/Log-likelihood\s*-?[\d.]+/.test(diagText) && /AIC/.test(diagText), "the model's diagnostics are labelled", diagText.slice(0, 160));
    const customerRows = await page.$$eval("tr[data-customer]", (rs) => rs.length);
    check(customerRows >= 10, `${shopName} lists its customers`, `${customerRows} rows`);
    const clvs = await page.$$eval("tr[data-customer] td:last-child", (cs) => cs.map((c) => c.textContent.trim()));
    check(clvs.every((c) => MONEY.test(c)), "CLVs are written as dollar amounts", clvs.slice(0, 3).join(", "));
    const clvNumbers = clvs.map((c) => Number(c.replace(/[$,]/g, "")));
    check(clvNumbers.every((v, i) => i === 0 || clvNumbers[i - 1] >= v), "customers are listed by CLV, highest first", clvs.slice(0, 5).join(", "));
    const groupRows = await page.$$eval("tr[data-group]", (rs) => rs.length);
    check(groupRows >= 2, "CLV per segment and per platform is tabled", `${groupRows} rows`);
    check((await page.$$("svg.bars rect.bar")).length >= 2, "the CLV bars are drawn on the server");
    await shot(page, "customers");
    await axe(page, "the customers page");
    await Promise.all([page.waitForURL("**sort=churn_risk**"), page.click("a:text-is('Churn risk, highest first (lowest P(alive) first)')")]);
    const risks = await page.$$eval("tr[data-customer] td:nth-child(8)", (cs) => cs.map((c) => parseFloat(c.textContent)));
    check(risks.length >= 1 && risks.every((v, i) => i === 0 || risks[i - 1] >= v), "sorting by churn risk lists the riskiest first", risks.slice(0, 5).join(", "));
    const firstCustomer = (await page.textContent("tr[data-customer] th a")).trim();
    await Promise.all([page.waitForURL("**/app/customers/c/**"), page.click("tr[data-customer] th a")]);
    check((await page.textContent("main h1")).includes(firstCustomer), "a row opens the customer", firstCustomer);
    check((await page.textContent("dl[data-forecast]")).includes("P(alive)"), "the customer's forecast is shown");
    await axe(page, "a customer's page");
    await Promise.all([page.waitForURL("**/app/customers?**"), page.click("main a:text-is('Customers')")]);
    const versionsBefore = await page.$$eval("tr[data-version]", (rs) => rs.length);
    await page.selectOption("#fit-model", "mbgnbd");
    await Promise.all([page.waitForURL("**done=fitted**"), page.click("form.fit button[type=submit]")]);
    check((await page.textContent(".flash")).includes("A new model is fitted"), "fitting says so");
    const versionsAfter = await page.$$eval("tr[data-version]", (rs) => rs.length);
    check(versionsAfter === versionsBefore + 1, "the fit adds a model version", `${versionsBefore} → ${versionsAfter}`);
    const ordersCsv = "Order ID,Email,Order Date,Total,Channel\n" +
      "e2e-1,e2e-a@shop.example,2025-05-01,42.00,meta\n" +
      "e2e-2,e2e-a@shop.example,2025-06-03,18.50,meta\n" +
      "e2e-3,e2e-b@shop.example,2025-05-20,99.99,google\n";
    await page.setInputFiles("#file", { name: "e2e-orders.csv", mimeType: "text/csv", buffer: Buffer.from(ordersCsv) });
    await Promise.all([page.waitForURL("**/app/customers/preview"), page.click("form.upload button[type=submit]")]);
    check((await page.textContent("main h1")).trim() === "Check the upload", "the file opens its preview");
    const previewRows = await page.$$eval("table[data-preview] tbody tr", (rs) => rs.length);
    check(previewRows === 3, "the preview shows the file's rows", `${previewRows}`);
    check((await page.inputValue("#col-customer_id")) === "1", "the customer column is guessed from its name");
    check((await page.inputValue("#col-timestamp")) === "2", "the date column is guessed from its name");
    check((await page.inputValue("#col-amount")) === "3", "the amount column is guessed from its name");
    await shot(page, "customers-preview");
    await axe(page, "the upload preview");
    await Promise.all([page.waitForURL("**done=uploaded**"), page.click("form.mapping button[type=submit]")]);
    const uploaded = (await page.textContent("[data-upload-result]")).replace(/\s+/g, " ");
    check(/3 rows received, 3 stored, 0 skipped/.test(uploaded), "the upload's counts are shown", uploaded);
    check(new URL(page.url()).searchParams.has("org"), "the upload stays in the chosen organisation", page.url());
    await axe(page, "the customers page after an upload");
    step("create-campaign wizard");
    await Promise.all([page.waitForURL("**/app/campaigns?**"), page.click("nav.main-nav a:text-is('Campaigns')")]);
    await Promise.all([page.waitForURL("**/app/campaigns/new**"), page.click("a:text-is('New campaign')")]);
    check(new URL(page.url()).searchParams.has("org"), "the wizard stays in the chosen organisation", page.url());
    const currentStep = async () => (await page.textContent("nav.wizard-steps [aria-current=step]")).replace(/\s+/g, " ").trim();
    check((await currentStep()) === "1 Goal", "the wizard opens on step 1, marked current", await currentStep());
    await axe(page, "the wizard's goal step");
    await page.fill("#f-goal", "Sell 200 pairs of running shoes in the US at a CPA under $25 with $3,000 a month");
    await page.check("input[name='form.channels'][value=google]");
    await Promise.all([page.waitForLoadState("load"), page.click("button:text-is('Plan the campaign')")]);
    await page.waitForSelector("table.assumptions");
    check((await currentStep()) === "2 Plan", "the planner's answer is step 2", await currentStep());
    const assumptionRows = await page.$$eval("tr.assumption", (rs) => rs.length);
    check(assumptionRows >= 3, "the plan shows the planner's assumptions", `${assumptionRows} rows`);
    check(/planner|language model/.test(await page.textContent("p.planner")), "the plan says who planned it");
    await shot(page, "wizard-plan");
    await axe(page, "the wizard's plan step");
    await page.fill("#f-name", "Running shoes (browser test)");
    await page.fill("#f-landing_url", "https://shop.example/running");
    if (!(await page.inputValue("#f-brand_name")).trim()) await page.fill("#f-brand_name", "Demo Shop");
    await Promise.all([page.waitForURL("**/creatives**"), page.click("button:text-is('Save draft')")]);
    check((await currentStep()) === "3 Creatives", "saving the draft opens step 3", await currentStep());
    const draftPath = new URL(page.url()).pathname.replace(/\/creatives$/, "");
    // Typed key by key: the live review listens to keyup.
    await page.click("#own-f-copy-headlines");
    await page.keyboard.type("Running shoes for every road");
    await page.waitForSelector("#verdict-own .verdict-tag");
    // Google Ads asks for three headlines and two descriptions at least.
    await page.keyboard.type("\nFree returns for 30 days\nBuilt for long runs");
    await page.click("#own-f-copy-descriptions");
    await page.keyboard.type("Light shoes with grip on every trail.\nOrder today, delivered in two days.");
    await page.waitForSelector("#verdict-own .verdict-tag");
    const liveVerdict = (await page.textContent("#verdict-own .verdict-tag")).trim();
    check(liveVerdict.length > 0, `the policy verdict shows as the copy is typed: ${liveVerdict}`);
    await axe(page, "the wizard's creatives step with a live verdict");
    await Promise.all([page.waitForURL("**#creative-**"), page.click("button:text-is('Add this creative')")]);
    check((await page.$$("article.creative-card .verdict-tag")).length >= 1, "the stored creative shows its verdict");
    await shot(page, "wizard-creatives");
    await Promise.all([page.waitForURL("**/simulation**"), page.click("a:text-is('Continue to the simulation')")]);
    check((await currentStep()) === "4 Simulation", "step 4 is the simulation", await currentStep());
    await Promise.all([page.waitForURL("**sim=**"), page.click("button:text-is('Run the simulation')")]);
    const simText = (await page.textContent("#result")).replace(/\s+/g, " ");
    check(/median \(p50\)/.test(simText), "the simulation shows the twin's result", simText.slice(0, 200));
    await shot(page, "wizard-simulation");
    await axe(page, "the wizard's simulation step");
    await Promise.all([page.waitForURL("**/submit**"), page.click("a:text-is('Continue to submit')")]);
    check((await currentStep()) === "5 Submit", "step 5 submits", await currentStep());
    await axe(page, "the wizard's submit step");
    await Promise.all([page.waitForURL("**done=submitted**"), page.click("button:text-is('Submit for approval')")]);
    check(new URL(page.url()).pathname === draftPath.replace("/new", ""), "submitting opens the campaign", page.url());
    check((await page.textContent(".flash")).includes("waits for approval"), "submitting says so");
    check((await page.textContent("main h1 .status")).trim() === "Pending approval", "the campaign waits for approval");

    step("settings, account and audit log");
    await Promise.all([page.waitForURL("**/app/settings/members**"), page.click("nav.main-nav a:text-is('Settings')")]);
    check((await page.textContent("main h1")).trim() === "Settings", "the navigation opens the settings");
    check(new URL(page.url()).searchParams.has("org"), "the settings stay in the chosen organisation", page.url());
    // Demo Shop is the agency's client: its people reach it through the agency.
    const agencyNote = (await page.textContent("[data-agency-note]")) || "";
    check(/through the agency/.test(agencyNote), "the client's members page says the agency's members reach it", agencyNote);
    await shot(page, "settings-members");
    await axe(page, "the members page");
    await Promise.all([page.waitForURL("**/app/settings/invitations**"), page.click("nav.sub-nav a:text-is('Invitations')")]);
    check((await page.textContent("#pending")).startsWith("Pending invitations"), "the invitations page lists pending invitations");
    await axe(page, "the invitations page");
    await Promise.all([page.waitForURL("**/app/settings/api-keys**"), page.click("nav.sub-nav a:text-is('API keys')")]);
    await axe(page, "the API keys page");
    await page.fill("#key-name", "Browser test key");
    await Promise.all([page.waitForLoadState("load"), page.click("form[action='/app/settings/api-keys'] button[type=submit]")]);
    await page.waitForSelector("[data-api-key-secret]");
    const secret = (await page.textContent("[data-api-key-secret]")).trim();
    check(/^kiki_[a-z0-9]+_/.test(secret), "a new key's secret is shown once", secret.slice(0, 14));
    await shot(page, "settings-api-key-created");
    await axe(page, "the answer with a new API key");
    const keyRow = page.locator("tr[data-api-key]", { hasText: "Browser test key" }).first();
    await Promise.all([page.waitForURL("**done=revoked**"), keyRow.locator("button:has-text('Revoke')").click()]);
    check((await page.textContent(".flash")).includes("revoked"), "revoking the key says so");
    check(!(await page.content()).includes(secret), "the secret is not shown again");
    await Promise.all([page.waitForURL("**/app/account**"), page.click("header a.account")]);
    check((await page.textContent("main h1")).trim() === "Your account", "the header links to the account page");
    await shot(page, "account");
    await axe(page, "the account page");
    await Promise.all([page.waitForURL("**/app/audit**"), page.click("nav.main-nav a:text-is('Audit log')")]);
    const actions = await page.$$eval("[data-audit-seq] .action", (as) => as.map((a) => a.textContent.trim()));
    check(actions.includes("apikey.revoked"), "the audit log shows the key's revocation", actions.slice(0, 5).join(", "));
    await page.click("[data-audit-seq] summary");
    check(await page.isVisible("[data-audit-seq] details[open] pre.details"), "an entry opens to its detail");
    await axe(page, "the audit log");
    await Promise.all([page.waitForURL("**verify=1**"), page.click("a:text-is('Verify the chain')")]);
    check((await page.getAttribute("[data-chain]", "data-chain")) === "ok", "the chain verifies", await page.textContent("[data-chain]"));
    await shot(page, "audit");

    step("sign-out");
    await Promise.all([page.waitForURL("**/sign-in**"), page.click("form[action='/sign-out'] button")]);
    check(new URL(page.url()).pathname === "/sign-in", "signing out lands on the sign-in page", page.url());
    await page.goto("/app");
    check(new URL(page.url()).pathname === "/sign-in", "the overview asks to sign in again afterwards", page.url());

    step("password reset and registration pages");
    await Promise.all([page.waitForURL("**/password-reset"), page.click("a:text-is('Forgot your password?')")]);
    await axe(page, "the password reset page");
    await page.fill("#email", "nobody@example.com");
    await Promise.all([page.waitForLoadState("load"), page.click("form[action='/password-reset'] button[type=submit]")]);
    check(await page.isVisible("[data-reset-sent]"), "a reset request answers without saying whether the address has an account");
    await axe(page, "the reset request's answer");
    await page.goto("/password-reset/confirm?token=not-a-real-token");
    await axe(page, "the new password page");
    await page.goto("/register");
    check((await page.textContent("main h1")).trim() === "Create your account", "the registration page opens");
    await axe(page, "the registration page");
    await page.goto("/sign-in");

    step("two-factor sign-in");
    const api = await context.request.post("/v1/auth/token", {
      form: { grant_type: "password", username: DEMO_EMAIL, password: DEMO_PASSWORD },
    });
    const token = (await api.json()).access_token;
    const auth = { Authorization: `Bearer ${token}` };
    const enrol = await (await context.request.post("/v1/me/mfa/enroll", { headers: auth })).json();
    check(typeof enrol.secret === "string" && enrol.secret.length >= 16, "MFA enrolment returns a secret");
    const stepNow = () => Math.floor(Date.now() / 1000 / 30);
    // Confirm with this step's code and sign in with the next step's: the
    // server accepts one step either side and never the same step twice.
    const first = stepNow();
    const confirm = await context.request.post("/v1/me/mfa/confirm", {
      headers: auth,
      data: { code: totp(enrol.secret, first) },
    });
    check(confirm.ok(), "a TOTP code computed here confirms the enrolment", await confirm.text());
    await page.fill("#email", DEMO_EMAIL);
    await page.fill("#password", DEMO_PASSWORD);
    // The code step is the answer to the password's POST (no redirect).
    await page.click("form[action='/sign-in'] button[type=submit]");
    await page.waitForSelector("#code");
    check((await page.textContent("main h1")).includes("Two-factor"), "the password leads to the code step");
    check((await page.$("input[name=password]")) === null, "the code step does not carry the password");
    await shot(page, "sign-in-code");
    await axe(page, "the code step");
    const next = totp(enrol.secret, first + 1);
    const wrong = ["000000", "111111"].find((c) => c !== next && c !== totp(enrol.secret, first) && c !== totp(enrol.secret, first + 2));
    await page.fill("#code", wrong);
    expected401.add("/sign-in/mfa");
    const codeRefused = page.waitForResponse((r) => r.request().method() === "POST");
    await page.click("form[action='/sign-in/mfa'] button[type=submit]");
    check((await codeRefused).status() === 401, "the wrong code is a 401 page", (await codeRefused).status());
    await page.waitForSelector("#mfa-error");
    expected401.delete("/sign-in/mfa");
    check(true, `a wrong code shows the error: ${(await page.textContent("#mfa-error")).trim()}`);
    await page.fill("#code", totp(enrol.secret, Math.max(first + 1, stepNow())));
    await Promise.all([page.waitForURL("**/app**"), page.click("form[action='/sign-in/mfa'] button[type=submit]")]);
    check(new URL(page.url()).pathname === "/app", "the right code opens the overview", page.url());
    check(
      (await page.textContent("header .user")).trim() === userLabel,
      "the header names the signed-in user after the code step",
    );

    await context.close();
  } finally {
    await browser.close();
  }
}

let server;
const work = await mkdtemp(join(tmpdir(), "kiki-browser-"));
let status = 0;
try {
  if (!existsSync(KIKI_BIN)) throw new Error(`no kiki binary at ${KIKI_BIN} (cargo build -p kiki-cli --bin kiki)`);
  if (!CHROMIUM) throw new Error("no Chromium found (Debian: apt-get install chromium), or set CHROMIUM");
  await mkdir(SHOTS, { recursive: true });
  console.log(`kiki: ${KIKI_BIN}\nchromium: ${CHROMIUM}\nscreenshots: ${SHOTS}`);
  server = await startServer(work);
  console.log(`demo ready at ${server.base} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const problems = [];
  await run(server.base, problems);
  step("what the browser reported");
  const all = problems.flat();
  check(all.length === 0, "no console error, CSP violation, uncaught exception or failed request", "\n    " + all.join("\n    "));
} catch (e) {
  console.log(`\nFAIL the run stopped: ${e.stack || e}`);
  failures.push("run");
} finally {
  if (server) {
    server.child.kill("SIGTERM");
    if (failures.length) console.log(`\nserver log (last lines):\n${server.log().split("\n").slice(-30).join("\n")}`);
  }
  await rm(work, { recursive: true, force: true }).catch(() => {});
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length) {
  console.log(`\n${failures.length} of ${checks} checks failed in ${secs} s`);
  status = 1;
} else {
  console.log(`\nall ${checks} checks passed in ${secs} s`);
}
process.exit(status);
