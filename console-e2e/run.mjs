// Browser tests of the registry console: a real ehcard-server on loopback
// (SQLite in a temporary folder) with seeded data — staff of each role, the
// sample electoral roll, two tablets whose residents make a duplicate pair
// and a field conflict — driven in Debian's headless Chromium through
// playwright-core. Each file in tests/ (in name order) exports
// `default async function (t)`; see `Harness` below for what `t` offers.
// Screenshots go to docs/screenshots/console/.
//
//   node console-e2e/run.mjs [--only NAME] [--keep]
//
// Binaries: $CARGO_TARGET_DIR/debug/{ehcard-server,ehcard}
// (EHCARD_SERVER_BIN and EHCARD_BIN override). Chromium: /usr/bin/chromium
// (EHCARD_CHROMIUM overrides).
import { execFileSync, spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const serverBin = process.env.EHCARD_SERVER_BIN || path.join(target, 'debug', 'ehcard-server');
const tabletBin = process.env.EHCARD_BIN || path.join(target, 'debug', 'ehcard');
const chromiumBin = process.env.EHCARD_CHROMIUM || '/usr/bin/chromium';
export const shotsDir = path.join(root, 'docs', 'screenshots', 'console');

/** Passwords of the seeded staff, by role (also their names). */
export const PASSWORDS = {
  admin: 'admin-password-1234',
  reviewer: 'reviewer-password-1234',
  viewer: 'viewer-password-1234',
};
const PASSPHRASE = 'tablet passphrase 1234';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const keep = args.includes('--keep');

const cleanups = [];
async function cleanup() {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {}
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Run a command; its stdout as text. Throws with stderr on failure. */
function run(bin, argv, env = {}, input) {
  try {
    return String(
      execFileSync(bin, argv, {
        env: { ...process.env, ...env },
        input,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      }),
    );
  } catch (e) {
    throw new Error(`${path.basename(bin)} ${argv.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

async function startServer(dir, db) {
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(
    serverBin,
    ['--db', `sqlite://${db}`, '--registry-key', path.join(dir, 'registry.key'), 'serve', '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', log] },
  );
  cleanups.push(() => child.kill('SIGTERM'));
  const url = `http://127.0.0.1:${port}`;
  // Wait for the health check to answer (or the process to die).
  let exited = null;
  child.on('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== null) throw new Error(`the server exited (${exited}): ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, port };
}

/** A provisioned tablet: the ehcard CLI on its own data folder. */
class Tablet {
  constructor(h, dir) {
    this.h = h;
    this.dir = dir;
  }
  static provision(h, label, ward = 12) {
    const out = JSON.parse(h.server(['device', 'add', '--ward', String(ward), '--label', label, '--json']));
    const t = new Tablet(h, fs.mkdtempSync(path.join(h.dir, 'tablet-')));
    t.deviceId = out.device.id;
    t.run(['init', '--server', h.url, '--code', out.code]);
    return t;
  }
  run(argv) {
    return run(tabletBin, ['--data', this.dir, ...argv], {
      EHCARD_PASSPHRASE: PASSPHRASE,
      EHCARD_WORKER: 'surveyor',
      EHCARD_LANG: 'en',
    });
  }
  json(argv) {
    return JSON.parse(this.run(argv));
  }
  enroll(record, notDuplicateOf = []) {
    const extra = notDuplicateOf.length ? ['--not-duplicate-of', ...notDuplicateOf] : [];
    return this.json(['enroll', '--json-out', ...extra, JSON.stringify(record)]);
  }
  sync() {
    return this.json(['sync', '--json']);
  }
}

/** What a test gets. */
class Harness {
  constructor(dir) {
    this.dir = dir;
    this.assert = assert;
    this.seed = {};
    this.PASSWORDS = PASSWORDS;
  }
  /** Run `ehcard-server` on the test database (stdout as text). */
  server(argv, env = {}) {
    return run(serverBin, ['--db', `sqlite://${this.db}`, '--registry-key', path.join(this.dir, 'registry.key'), ...argv], env);
  }
  tablet(label, ward = 12) {
    return Tablet.provision(this, label, ward);
  }
  /** A fresh browser context (its own cookies), optionally signed in. */
  async page({ role = null, lang = 'en', width = 1366, height = 900 } = {}) {
    const context = await this.browser.newContext({ viewport: { width, height }, locale: lang === 'hi' ? 'hi-IN' : 'en-IN' });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (e) => this.pageErrors.push(`${page.url()}: ${e.message}`));
    if (lang === 'hi') {
      await context.addCookies([{ name: 'ehcard_lang', value: 'hi', url: this.url }]);
    }
    if (role) await this.signIn(page, role);
    return page;
  }
  /** Sign in through the form, as a person would. */
  async signIn(page, role, password = PASSWORDS[role]) {
    await page.goto(`${this.url}/console/login`);
    await page.fill('#name', role);
    await page.fill('#password', password);
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    assert.ok(!page.url().includes('/console/login'), `signing in as ${role} failed: ${await page.textContent('body')}`);
  }
  /** The CSRF token of the signed-in page. */
  async csrf(page) {
    return page.evaluate(() => document.body.dataset.csrf);
  }
  /** Save a screenshot as docs/screenshots/console/NAME.png (whole page). */
  async shot(page, name) {
    fs.mkdirSync(shotsDir, { recursive: true });
    await page.evaluate(() => document.fonts.ready);
    await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
  }
  /** The page's visible text. */
  async text(page, selector = 'main') {
    return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ');
  }
}

async function seed(h) {
  for (const role of ['admin', 'reviewer', 'viewer']) {
    h.server(['user', 'add', role, '--role', role], { EHCARD_PASSWORD: PASSWORDS[role] });
  }
  h.server(['import-roll', path.join(root, 'schema', 'samples', 'roll.csv')]);
  const a = h.tablet('Ward 12 tablet A');
  const b = h.tablet('Ward 12 tablet B');
  // The same man enrolled offline by two teams.
  const first = a.enroll({
    given_name: 'Mohammad', family_name: 'Iqbal', sex: 'male', date_of_birth: '1980-03-02',
    voter_id: 'DLX1234567', blood_group: 'B+', address: { house: '14', street: 'Gali 3', ward: 12 },
  });
  const second = b.enroll({
    given_name: 'Mohd', family_name: 'Iqbal', sex: 'male', birth_year: 1980, phone: '9876500011',
    blood_group: 'O+', address: { house: '14', street: 'Gali 3', ward: 12 },
  });
  // A resident both tablets edit before they sync: a field conflict.
  const shared = a.enroll({
    given_name: 'Sunita', family_name: 'Sharma', name_hi: 'सुनीता शर्मा', sex: 'female', birth_year: 1990,
    phone: '9811100001', address: { house: '7', street: 'Main Road', ward: 12 },
  });
  a.sync();
  b.sync();
  a.run(['edit', shared.id, '--set', 'phone=9811100002']);
  b.run(['edit', shared.id, '--set', 'phone=9811100003']);
  a.sync();
  b.sync();
  a.sync();
  // Find the pair now (the server's matcher would, a little later).
  h.server(['duplicates', '--json']);
  h.seed = { tabletA: a, tabletB: b, dupA: first, dupB: second, conflicted: shared };
}

async function main() {
  for (const bin of [serverBin, tabletBin]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: build it first (cargo build --bins)`);
  }
  if (!fs.existsSync(chromiumBin)) throw new Error(`${chromiumBin} is missing: run scripts/setup.sh (apt chromium)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ehcard-console-'));
  if (!keep) cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const h = new Harness(dir);
  h.db = path.join(dir, 'registry.db');
  h.pageErrors = [];
  h.server(['migrate']);
  const server = await startServer(dir, h.db);
  h.url = server.url;
  h.serverProcess = server.child;
  await seed(h);
  h.browser = await chromium.launch({ executablePath: chromiumBin, args: ['--no-sandbox', '--font-render-hinting=none'] });
  cleanups.push(() => h.browser.close());

  const files = fs.readdirSync(path.join(here, 'tests')).filter((f) => f.endsWith('.mjs')).sort();
  let failed = 0;
  for (const f of files) {
    if (only && !f.includes(only)) continue;
    const started = Date.now();
    try {
      const mod = await import(path.join(here, 'tests', f));
      await mod.default(h);
      console.log(`ok   ${f} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${f}: ${e.stack || e}`);
    }
  }
  if (h.pageErrors.length) {
    failed++;
    console.log(`FAIL script errors in pages:\n  ${h.pageErrors.join('\n  ')}`);
  }
  if (keep) console.log(`kept ${dir}`);
  return failed;
}

main()
  .then(async (failed) => {
    await cleanup();
    if (failed) {
      console.log(`${failed} console test file(s) failed`);
      process.exit(1);
    }
    console.log('console: all browser tests passed');
  })
  .catch(async (e) => {
    console.error(e);
    await cleanup();
    process.exit(1);
  });
