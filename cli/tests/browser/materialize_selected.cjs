// Drives the job page's asset graph in headless Chromium, for cli/tests/e2e/browser_assets.rs:
// the graph's health colours before any run (unknown), "Materialize selected" of an asset whose
// upstream was never materialized (the form shows why), Launch Run, then the colours after it
// (healthy), a click on an asset of the graph (selected), "Materialize selected" (the run page of
// a run of that asset only, followed to its end), and the asset's lineage graph. It reports what
// it saw as one JSON object on stdout; the Rust test makes the assertions.
//
// Environment: ORCH_BASE_URL, ORCH_JOB, ORCH_ASSET (the asset to select), ORCH_CHROMIUM,
// ORCH_SCREENSHOT_DIR, ORCH_RUN_TIMEOUT_MS (default 90000). NODE_PATH holds playwright-core.
'use strict';

const path = require('node:path');
const { chromium } = require('playwright-core');

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

const ENDED = '#run-status[data-status="SUCCESS"], #run-status[data-status="FAILURE"], ' +
  '#run-status[data-status="CANCELED"]';

// Each node of the graph `svg` as [key, class].
async function nodeClasses(page, svg) {
  return page.$$eval(`svg#${svg} g[data-key]`, (gs) =>
    gs.map((g) => [g.getAttribute('data-key'), g.getAttribute('class')]));
}

async function main() {
  const base = env('ORCH_BASE_URL');
  const job = env('ORCH_JOB');
  const asset = env('ORCH_ASSET');
  const shots = env('ORCH_SCREENSHOT_DIR');
  const runTimeout = Number(env('ORCH_RUN_TIMEOUT_MS', '90000'));
  const browser = await chromium.launch({ executablePath: env('ORCH_CHROMIUM'), args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30000);
    current = page;
    const jobPage = `${base}/jobs/${job}`;

    // 1. Before any run: every node is of unknown health.
    await page.goto(jobPage);
    seen.classes_before = await nodeClasses(page, 'asset-graph');

    // 2. Select the asset by clicking it; its upstream was never materialized: refused.
    await page.click(`svg#asset-graph g[data-key="${asset}"]`);
    seen.selected_value = await page.inputValue('#select');
    seen.selected_class = await page.getAttribute(`svg#asset-graph g[data-key="${asset}"]`, 'class');
    await Promise.all([page.waitForURL(/\/launch$/), page.click('#materialize-selected')]);
    seen.refused_error = await page.textContent('#launch-error').catch(() => null);

    // 3. Launch the whole job and wait for its end.
    await page.goto(jobPage);
    await Promise.all([page.waitForURL(/\/runs\/[0-9a-f-]{36}$/), page.click('#launch-run')]);
    seen.full_run_id = page.url().split('/').pop();
    await page.waitForSelector(ENDED, { timeout: runTimeout }).catch(() => {});
    seen.full_status = await page.getAttribute('#run-status', 'data-status');

    // 4. The colours now, then Materialize selected: the asset alone.
    await page.goto(jobPage);
    seen.classes_after = await nodeClasses(page, 'asset-graph');
    await page.click(`svg#asset-graph g[data-key="${asset}"]`);
    seen.selected_value_after = await page.inputValue('#select');
    await page.screenshot({ path: path.join(shots, 'job-graph.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/runs\/[0-9a-f-]{36}$/), page.click('#materialize-selected')]);
    seen.selection_run_id = page.url().split('/').pop();
    await page.waitForSelector(ENDED, { timeout: runTimeout }).catch(() => {});
    seen.selection_status = await page.getAttribute('#run-status', 'data-status');

    // 5. The asset's page: its health and its lineage graph's colours.
    await page.goto(`${base}/assets/${asset}`);
    seen.asset_health = await page.textContent('#asset-health');
    seen.lineage_classes = await nodeClasses(page, 'lineage');
    await page.screenshot({ path: path.join(shots, 'lineage.png'), fullPage: true });
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
