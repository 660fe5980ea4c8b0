// Tablets: an administrator provisions one (its one-time code and a QR code
// the field app reads, decoded here from a screenshot), a real tablet uses
// the code, and a second tablet is found by its label and revoked, after
// which its sync is refused. Reviewers and viewers cannot see the page, and
// a forged revocation changes nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The field app's reading of a provisioning QR (ui/src/screens/Setup.svelte). */
export function readProvisioningQr(text) {
  let server = '';
  let code = '';
  try {
    const j = JSON.parse(text);
    if (j.server) server = j.server;
    if (j.code) code = j.code;
  } catch {
    const [a, b] = text.split('#');
    if (b) {
      server = a;
      code = b;
    } else code = text;
  }
  return { server, code };
}

/** Provision a tablet through the form; its code, from the answer page. */
async function provision(t, page, label, wards, hours = '48') {
  await page.goto(`${t.url}/console/tablets`);
  await page.fill('#label', label);
  await page.fill('#wards', wards);
  await page.fill('#hours', hours);
  await Promise.all([page.waitForNavigation(), page.click('section.provision button[type=submit]')]);
  const code = await page.getAttribute('p.code', 'data-code');
  t.assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, `a code is shown: ${await t.text(page)}`);
  return code;
}

/** A tablet (the ehcard CLI on a fresh folder), not yet initialised. */
function blankTablet(t) {
  const Tablet = t.seed.tabletA.constructor;
  return new Tablet(t, fs.mkdtempSync(path.join(t.dir, 'tablet-')));
}

export default async function (t) {
  const { assert } = t;
  const admin = await t.page({ role: 'admin' });
  admin.on('dialog', (d) => d.accept());
  await admin.goto(`${t.url}/console/tablets`);
  const list = await t.text(admin);
  assert.match(list, /Ward 12 tablet A/);
  assert.match(list, /Ward 12 tablet B/);
  assert.match(list, /active/);

  // Bad input: refused with a reason, nothing added.
  const before = (await admin.locator('tr[data-device]').count());
  await admin.fill('#label', 'Bad wards tablet');
  await admin.fill('#wards', '12, 400');
  const bad = await Promise.all([admin.waitForNavigation(), admin.click('section.provision button[type=submit]')]);
  assert.equal(bad[0].status(), 422);
  assert.match(await t.text(admin, 'body'), /Ward "400" is not a ward number/);
  await admin.goto(`${t.url}/console/tablets`);
  assert.equal(await admin.locator('tr[data-device]').count(), before);
  assert.doesNotMatch(await t.text(admin), /Bad wards tablet/);

  // Provision: the code, once, with its QR code.
  const code = await provision(t, admin, 'Ward 31 team 7', '31, 32');
  const page = await t.text(admin);
  assert.match(page, /shown only this once/);
  assert.match(page, /31, 32/);
  await t.shot(admin, 'tablet-provisioned-en');
  assert.deepEqual(await admin.locator('[style]:not([style=""])').evaluateAll((e) => e.map((x) => x.outerHTML.slice(0, 120))), [], 'no inline style (CSP)');
  const png = path.join(t.dir, 'provisioning-qr.png');
  await admin.locator('figure.qr-box svg').screenshot({ path: png });
  const decoded = execFileSync('zbarimg', ['--raw', '-q', png], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const qr = readProvisioningQr(decoded);
  assert.equal(qr.server, t.url, `the QR names the server: ${decoded}`);
  assert.equal(qr.code, code);
  // The code is not kept anywhere a page can show it again.
  await admin.goto(`${t.url}/console/tablets`);
  assert.ok(!(await admin.content()).includes(code));

  // A real tablet provisions itself from what the QR says, and syncs.
  const team7 = blankTablet(t);
  team7.run(['init', '--server', qr.server, '--code', qr.code]);
  team7.sync();
  // The code works once.
  assert.throws(() => blankTablet(t).run(['init', '--server', qr.server, '--code', qr.code]), /unknown provisioning code/);
  await admin.goto(`${t.url}/console/tablets?q=team+7`);
  const row7 = admin.locator('tr[data-device]', { hasText: 'Ward 31 team 7' });
  assert.match(await row7.innerText(), /active/);

  // A second tablet, then lost: found by its label and revoked.
  const code8 = await provision(t, admin, 'Ward 31 team 8', '31');
  const team8 = blankTablet(t);
  team8.run(['init', '--server', t.url, '--code', code8]);
  team8.sync();
  await admin.goto(`${t.url}/console/tablets`);
  await admin.fill('#q', 'team 8');
  await Promise.all([admin.waitForNavigation(), admin.click('form.filters button[type=submit]')]);
  assert.equal(await admin.locator('tr[data-device]').count(), 1);
  const id8 = await admin.locator('tr[data-device]').getAttribute('data-device');
  await Promise.all([admin.waitForNavigation(), admin.click('tr[data-device] a:has-text("Revoke")')]);
  assert.match(await t.text(admin), /Its next sync is refused/);
  assert.match(await t.text(admin), /Records it synced before stay in the registry/);
  // Without the box ticked (a browser without HTML checks): nothing happens.
  const csrf = await t.csrf(admin);
  const unticked = await admin.evaluate(
    async ([id, csrf]) => (await fetch(`/console/tablets/${id}/revoke`, { method: 'POST', body: new URLSearchParams({ csrf }) })).status,
    [id8, csrf],
  );
  assert.equal(unticked, 422);
  assert.ok(team8.sync(), 'still active');
  await admin.check('input[name=confirm]');
  await Promise.all([admin.waitForNavigation(), admin.click('button.danger')]);
  assert.match(await t.text(admin), /Tablet \d+ \(Ward 31 team 8\) is revoked: its next sync is refused/);
  assert.throws(() => team8.sync(), /revoked/);
  await admin.goto(`${t.url}/console/tablets?status=revoked`);
  assert.match(await t.text(admin), /Ward 31 team 8/);
  assert.doesNotMatch(await t.text(admin), /Ward 31 team 7/);
  await admin.goto(`${t.url}/console/tablets`);
  await t.shot(admin, 'tablets-en');

  // Reviewers and viewers: not their page, and a forged POST changes nothing.
  for (const role of ['reviewer', 'viewer']) {
    const p = await t.page({ role });
    const r = await p.goto(`${t.url}/console/tablets`);
    assert.equal(r.status(), 403);
    assert.match(await t.text(p, 'body'), new RegExp(`Your role cannot do this \\(${role}\\)`));
    const status = await p.evaluate(
      async (csrf) => {
        const body = new URLSearchParams({ csrf, label: 'Forged tablet', wards: '12', hours: '10' });
        return (await fetch('/console/tablets', { method: 'POST', body })).status;
      },
      await t.csrf(p),
    );
    assert.equal(status, 403);
  }
  // The reviewer's forged revocation of team 7, with a valid token of their own.
  const reviewer = await t.page({ role: 'reviewer' });
  await reviewer.goto(`${t.url}/console`);
  const id7row = await admin.evaluate(async () => {
    const html = await (await fetch('/console/tablets?q=team+7')).text();
    return new DOMParser().parseFromString(html, 'text/html').querySelector('tr[data-device]').dataset.device;
  });
  const forged = await reviewer.evaluate(
    async ([id, csrf]) => (await fetch(`/console/tablets/${id}/revoke`, { method: 'POST', body: new URLSearchParams({ csrf, confirm: 'yes' }) })).status,
    [id7row, await t.csrf(reviewer)],
  );
  assert.equal(forged, 403);
  assert.ok(team7.sync(), 'team 7 still syncs');
  await admin.goto(`${t.url}/console/tablets?q=team+7`);
  assert.match(await admin.locator('tr[data-device]').innerText(), /active/);
  assert.doesNotMatch(await t.text(admin), /Forged tablet/);
  await admin.goto(`${t.url}/console/tablets?q=Forged`);
  assert.match(await t.text(admin), /No tablet matches/);

  // Hindi.
  const hi = await t.page({ role: 'admin', lang: 'hi' });
  await hi.goto(`${t.url}/console/tablets`);
  assert.match(await t.text(hi), /नया टैबलेट प्रोविज़न करें/);
  await t.shot(hi, 'tablets-hi');
  await provision(t, hi, 'वार्ड 40 टीम 1', '40');
  assert.match(await t.text(hi), /यह कोड सिर्फ़ इसी बार दिखेगा/);
  await t.shot(hi, 'tablet-provisioned-hi');
  t.seed.adminTablets = { team7, id8, id7: id7row };
}
