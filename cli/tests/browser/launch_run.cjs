// Drives orch's web UI in headless Chromium the way a user would, for cli/tests/e2e/browser.rs:
// with auth on, Launch Run without logging in (refused), log in, Launch Run with a bad config (the
// form shows the error), Launch Run with the job's defaults, watch the run page reach a final
// status without reloading it, then open the asset page. It reports what it saw as one JSON object
// on stdout; the Rust test makes the assertions. Screenshots go to ORCH_SCREENSHOT_DIR.
//
// Environment: ORCH_BASE_URL, ORCH_JOB, ORCH_ASSET, ORCH_TOKEN (may be empty: no login step),
// ORCH_CHROMIUM (the browser), ORCH_SCREENSHOT_DIR, ORCH_RUN_TIMEOUT_MS (default 90000).
// Needs NODE_PATH to hold playwright-core (scripts/browser.sh installs it).
'use strict';

const path = require('node:path');
const { chromium } = require('playwright-core');

// What the script saw so far, and the page it is on: printed on failure too, for the diagnosis.
const seen = {};
let current = null;

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} is not set`);
  }
  return value;
}

// Flags that keep Chromium offline and quiet as root in a container (see the machine notes).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

async function main() {
  const base = env('ORCH_BASE_URL');
  const job = env('ORCH_JOB');
  const asset = env('ORCH_ASSET');
  const token = process.env.ORCH_TOKEN || '';
  const shots = env('ORCH_SCREENSHOT_DIR');
  const runTimeout = Number(env('ORCH_RUN_TIMEOUT_MS', '90000'));

  const browser = await chromium.launch({
    executablePath: env('ORCH_CHROMIUM'),
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30000);
    current = page;
    const jobPage = `${base}/jobs/${job}`;

    // 1. With auth on, a click before logging in is refused (sent to the login form).
    await page.goto(jobPage);
    seen.default_config = await page.inputValue('#launch-form textarea[name="config"]');
    if (token) {
      await Promise.all([page.waitForURL(/\/login/), page.click('#launch-run')]);
      seen.refused_url = page.url();
      seen.refused_has_login_form = (await page.locator('#login-form').count()) === 1;

      // 2. Log in; the form sends us back where we were.
      await page.fill('#login-form input[name="token"]', token);
      await Promise.all([
        page.waitForURL((url) => !url.pathname.startsWith('/login')),
        page.click('#login-form [type="submit"]'),
      ]);
      seen.after_login_url = page.url();
      if (!page.url().startsWith(jobPage)) await page.goto(jobPage);
    }

    // 3. A config the job refuses: the form shows why.
    await page.fill('#launch-form textarea[name="config"]', '{"no_such_key": 1}');
    await Promise.all([page.waitForURL(/\/launch$/), page.click('#launch-run')]);
    seen.bad_config_url = page.url();
    seen.bad_config_error = await page.textContent('#launch-error').catch(() => null);
    seen.bad_config_kept = await page
      .inputValue('#launch-form textarea[name="config"]')
      .catch(() => null);

    // 4. The defaults: the run page opens and follows the run to its end without a reload.
    await page.fill('#launch-form textarea[name="config"]', seen.default_config);
    await Promise.all([page.waitForURL(/\/runs\/[0-9a-f-]{36}$/), page.click('#launch-run')]);
    seen.run_url = page.url();
    seen.run_id = seen.run_url.split('/').pop();
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page
      .waitForSelector('#run-status[data-status="SUCCESS"], #run-status[data-status="FAILURE"], ' +
        '#run-status[data-status="CANCELED"]', { timeout: runTimeout })
      .catch(() => {});
    seen.final_status = await page.getAttribute('#run-status', 'data-status');
    seen.reloads_while_watching = navigations;
    seen.timeline_bars = await page.locator('svg#timeline rect').count();
    seen.started_text = (await page.textContent('#run-started')) || '';
    seen.reexecute_buttons = await page.locator('#reexecute-all').count();
    seen.events_text = (await page.textContent('#events')) || '';
    await page.screenshot({ path: path.join(shots, 'run.png'), fullPage: true });

    // 5. The asset page shows the materialization of that run.
    await page.goto(`${base}/assets/${asset}`);
    seen.latest_text = (await page.textContent('#latest')) || '';
    seen.latest_links = await page.$$eval('#latest a', (links) =>
      links.map((a) => a.getAttribute('href')),
    );
    await page.screenshot({ path: path.join(shots, 'asset.png'), fullPage: true });
  } catch (error) {
    if (current) {
      seen.failed_on = current.url();
      seen.failed_page = ((await current.textContent('body').catch(() => '')) || '').slice(0, 2000);
    }
    throw error;
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(seen)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\nseen so far: ${JSON.stringify(seen)}\n`);
  process.exit(1);
});
