// Drives a partitioned job's page in headless Chromium, for cli/tests/e2e/browser_backfills.rs:
// fills the backfill form (ORCH_FROM..ORCH_TO), follows the redirect to the backfill's page and
// reloads it until the backfill ends, then reads the job page's partition health bar (each
// range's status, title and link) and follows the link of the failed range to its key list.
// It reports what it saw as one JSON object on stdout; the Rust test makes the assertions.
//
// Environment: ORCH_BASE_URL, ORCH_JOB, ORCH_FROM, ORCH_TO, ORCH_CHROMIUM, ORCH_SCREENSHOT_DIR,
// ORCH_RUN_TIMEOUT_MS (default 120000). NODE_PATH holds playwright-core.
'use strict';

const path = require('node:path');
const { chromium } = require('playwright-core');

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} is not set`);
  }
  return value;
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];

const ENDED = ['COMPLETED', 'FAILED', 'CANCELED'];

async function main() {
  const base = env('ORCH_BASE_URL');
  const job = env('ORCH_JOB');
  const shots = env('ORCH_SCREENSHOT_DIR');
  const timeout = Number(env('ORCH_RUN_TIMEOUT_MS', '120000'));
  const seen = {};
  const browser = await chromium.launch({ executablePath: env('ORCH_CHROMIUM'), args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30000);
    await page.goto(`${base}/jobs/${job}`);
    seen.ranges_before = await page.$$eval('#partition-bar a.part-range', (as) =>
      as.map((a) => a.getAttribute('data-status')));
    await page.fill('#backfill-form input[name="from"]', env('ORCH_FROM'));
    await page.fill('#backfill-form input[name="to"]', env('ORCH_TO'));
    await page.selectOption('#backfill-form select[name="mode"]', 'missing');
    await Promise.all([page.waitForURL(/\/backfills\/[0-9a-f-]+$/), page.click('#launch-backfill')]);
    seen.backfill_url = page.url();
    const until = Date.now() + timeout;
    for (;;) {
      const status = await page.getAttribute('#backfill-status', 'data-status');
      seen.backfill_status = status;
      if (ENDED.includes(status) || Date.now() > until) break;
      await page.waitForTimeout(500);
      await page.reload();
    }
    seen.counts = await page.$$eval('#backfill-counts [data-count]', (cs) =>
      cs.map((c) => [c.getAttribute('data-count'), c.textContent]));
    await page.screenshot({ path: path.join(shots, 'backfill.png'), fullPage: true });

    await page.goto(`${base}/jobs/${job}`);
    seen.ranges = await page.$$eval('#partition-bar a.part-range', (as) =>
      as.map((a) => ({
        status: a.getAttribute('data-status'),
        title: a.getAttribute('title'),
        href: a.getAttribute('href'),
        fill: getComputedStyle(a.querySelector('rect')).fill,
      })));
    await page.locator('#partition-bar').screenshot({ path: path.join(shots, 'partition-bar.png') });
    await page.click('#partition-bar a.part-range[data-status="failed"]');
    await page.waitForURL(/status=failed/);
    seen.failed_keys = await page.$$eval('#partition-key-list tr[data-key]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-key')));
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(seen)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
