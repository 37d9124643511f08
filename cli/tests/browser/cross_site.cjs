// A page of another origin attacks orch's API in headless Chromium, for
// cli/tests/e2e/cross_site.rs: optionally logs in to orch first (so the browser holds its
// session cookie), then opens ORCH_EVIL_URL — a page served from 127.0.0.2 whose script sends
// `no-cors` fetches and submits forms at orch (launch a run, switch a schedule on, through the
// API and the UI's form routes). It reports, as one JSON object on stdout, every response the
// browser got from orch for those requests (method, path, status); the Rust test asserts that
// each was refused and that nothing changed.
//
// Environment: ORCH_BASE_URL, ORCH_EVIL_URL, ORCH_TOKEN (empty: no login step), ORCH_EXPECTED
// (how many requests the page sends), ORCH_CHROMIUM. Needs NODE_PATH to hold playwright-core.
'use strict';

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
  const evil = env('ORCH_EVIL_URL');
  const token = process.env.ORCH_TOKEN || '';
  const expected = Number(env('ORCH_EXPECTED'));
  const seen = { logged_in: false, responses: [] };
  const browser = await chromium.launch({ executablePath: env('ORCH_CHROMIUM'), args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    if (token) {
      await page.goto(`${base}/login?next=/`);
      await page.fill('#login-form input[name="token"]', token);
      await Promise.all([
        page.waitForURL((url) => !url.pathname.startsWith('/login')),
        page.click('#login-form [type="submit"]'),
      ]);
      seen.logged_in = (await context.cookies(base)).some((c) => c.name === 'orch_session');
    }
    // Every response from orch to a mutation, whichever frame or fetch sent it.
    let done;
    const all = new Promise((resolve) => { done = resolve; });
    context.on('response', async (response) => {
      const request = response.request();
      if (!request.url().startsWith(base) || request.method() !== 'POST') return;
      // allHeaders: the headers as sent, with those the network stack adds (Origin, Sec-Fetch-*).
      const headers = await request.allHeaders();
      seen.responses.push({
        method: request.method(),
        path: new URL(request.url()).pathname,
        status: response.status(),
        origin: headers.origin || null,
        fetch_site: headers['sec-fetch-site'] || null,
        authorization: headers.authorization || null,
        kind: request.resourceType(),
      });
      if (seen.responses.length >= expected) done();
    });
    await page.goto(evil);
    await Promise.race([
      all,
      // unref: a pending timer would keep node alive after the browser closed.
      new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.responses.length} of ${expected} responses`)), 30000).unref()),
    ]);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'sent');
    seen.page_said = await page.locator('#status').innerText();
  } catch (error) {
    seen.error = String(error && error.stack ? error.stack : error);
    process.stdout.write(JSON.stringify(seen));
    process.exitCode = 1;
    return;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main();
