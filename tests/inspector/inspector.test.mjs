// The inspector in a real browser (issue 15 section 3): starts `dci serve --demo`, opens
// /inspector in headless Chromium (Debian's package, driven by playwright-core), sends an
// accepted search and a bad one, and checks that the page shows the bad one's violations
// without a reload and that the page ran under its Content-Security-Policy without a
// violation. Writes a screenshot when INSPECTOR_SCREENSHOT names a file.
//
// Env: DCI_BIN (the dci binary), CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const bin = process.env.DCI_BIN && resolve(process.env.DCI_BIN);
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!bin) throw new Error('DCI_BIN must name the dci binary');

function fail(msg) {
  console.error(`test-inspector: FAIL: ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Starts the demo server; resolves with its base URL and client secret once the banner is out.
function startServer(dir, port) {
  const child = spawn(bin, ['serve', '--demo', '--db', join(dir, 'demo.db'), '--listen', `127.0.0.1:${port}`],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const secret = out.match(/client_secret:\s*(\S+)/);
      if (secret && out.includes('Signed')) resolve({ base: `http://127.0.0.1:${port}`, secret: secret[1] });
    });
    child.on('exit', (code) => reject(new Error(`dci serve exited (${code}):\n${err}`)));
  });
  return { child, ready };
}

function now() {
  return new Date().toISOString();
}

function search(action, mutate) {
  const env = {
    signature: '',
    header: {
      version: '1.0.0', message_id: randomUUID(), message_ts: now(), action,
      sender_id: 'demo-sender', receiver_id: 'registry.example.org', total_count: 1,
    },
    message: {
      transaction_id: randomUUID(),
      search_request: [{
        reference_id: 'ref-1', timestamp: now(),
        search_criteria: { version: '1.0.0', reg_type: 'ns:org:RegistryType:Civil', query_type: 'idtype-value', query: { type: 'UIN', value: '100000001' } },
      }],
    },
  };
  if (mutate) mutate(env);
  return env;
}

async function post(base, token, path, env) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(env),
  });
  return { status: r.status, body: await r.json() };
}

const dir = mkdtempSync(join(tmpdir(), 'dci-inspector-'));
const port = await freePort();
const server = startServer(dir, port);
let browser;
try {
  const { base, secret } = await server.ready;
  const tr = await fetch(`${base}/oauth2/client/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-client', client_secret: secret }),
  });
  const { access_token: token } = await tr.json();
  if (!token) fail('no access token from the demo client');

  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const resp = await page.goto(`${base}/inspector`);
  if (resp.status() !== 200) fail(`GET /inspector answered ${resp.status()}`);
  if (!resp.headers()['content-security-policy']?.startsWith("default-src 'none'")) fail('no strict CSP on the page');
  // The event stream is open before anything is sent, so what follows must come through it.
  await page.waitForSelector('body[data-live="1"]', { timeout: 20000 });
  const shownBefore = await page.locator('li.txn').count();
  if (shownBefore !== 0) fail(`a fresh demo server shows ${shownBefore} transactions`);

  const ok = await post(base, token, '/registry/sync/search', search('search', (e) => {
    e.message.search_request[0].search_criteria.sortt = [];
  }));
  if (ok.status !== 200) fail(`the accepted search answered ${ok.status}: ${JSON.stringify(ok.body)}`);
  const bad = await post(base, token, '/registry/sync/search', search('search', (e) => {
    delete e.header.message_id;
    e.message.search_request[0].reference_id = 'r'.repeat(120);
  }));
  if (bad.status !== 400) fail(`the bad search answered ${bad.status}`);

  // Without a reload: the rejected row arrives by the event stream, open, with its violations.
  const row = page.locator('li.txn.status-rjct');
  await row.waitFor({ timeout: 20000 });
  const violations = await row.locator('.violation').allTextContents();
  if (!violations.some((v) => v.startsWith('header.message_id: ') && v.includes('(err.request.bad)'))) {
    fail(`the page does not show the message_id violation: ${JSON.stringify(violations)}`);
  }
  if (!violations.some((v) => v.startsWith('message.search_request[0].reference_id: '))) {
    fail(`the page does not show the reference_id violation: ${JSON.stringify(violations)}`);
  }
  const code = await row.locator('summary .code').textContent();
  if (code !== 'err.request.bad') fail(`rejection code shown: ${code}`);
  const good = page.locator('li.txn.status-succ');
  await good.waitFor({ timeout: 20000 });
  const deviationBadge = await good.locator('summary .badge.dev').textContent();
  if (!/^\d+ deviations?$/.test(deviationBadge || '')) fail(`no deviation count on the accepted row: ${deviationBadge}`);
  await good.locator('summary').click();
  const deviations = await good.locator('.deviation').allTextContents();
  if (!deviations.some((d) => d.startsWith('message.search_request[0].search_criteria.sortt: '))) {
    fail(`the accepted row does not list the sortt deviation: ${JSON.stringify(deviations)}`);
  }
  // The bodies never show the token; signatures are shortened.
  const text = await page.locator('body').textContent();
  if (text.includes(token)) fail('the page shows the bearer token');
  if (!text.includes('"signature": "namespace=\\"dci\\",... (')) fail('the answer signature is not shown shortened');
  if ((await page.locator('li.txn').count()) !== 2) fail('expected exactly the two new transactions');
  // The status filter: only the rejection stays.
  await page.selectOption('select[name=status]', 'rjct');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('li.txn').length === 1 && document.querySelector('li.txn.status-rjct'), null, { timeout: 20000 });
  await page.selectOption('select[name=status]', '');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('li.txn').length === 2, null, { timeout: 20000 });
  await good.locator('summary').click();
  if (problems.length) fail(`the page reported: ${problems.join('; ')}`);
  if (process.env.INSPECTOR_SCREENSHOT) {
    await page.locator('li.txn.status-rjct details').evaluate((d) => { d.open = true; });
    await page.screenshot({ path: process.env.INSPECTOR_SCREENSHOT, fullPage: false });
    console.log(`screenshot: ${process.env.INSPECTOR_SCREENSHOT}`);
  }
  console.log('test-inspector: ok: the page showed the rejected request and its violations without a reload');
} finally {
  if (browser) await browser.close();
  server.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
