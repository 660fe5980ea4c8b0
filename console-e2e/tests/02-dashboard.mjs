// The dashboard: the seeded registry's figures (expected values worked out
// from schema/samples/roll.csv, the seed and `ehcard-server stats`), the
// coverage chart beside its table, sorting, the stale-tablet list, today's
// throughput changing when a tablet enrolls someone new and syncs, every
// role seeing it, a bad sort refused, and screenshots (English, Hindi,
// tablet width).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Rows and households (ward, section, house) of the sample roll, by ward. */
function rollByWard() {
  const [header, ...lines] = fs.readFileSync(path.join(root, 'schema', 'samples', 'roll.csv'), 'utf8').trim().split('\n');
  const cols = header.split(',');
  const at = (name) => cols.indexOf(name);
  const wards = {};
  for (const line of lines) {
    const f = line.split(',');
    const w = (wards[f[at('ward')]] ??= { rows: 0, houses: new Set() });
    w.rows++;
    w.houses.add(`${f[at('section')]}|${f[at('house_no')]}`);
  }
  return wards;
}

/** "1,23,456" → 123456 */
const num = (s) => Number(String(s).replace(/[^0-9-]/g, ''));

/** A ward's row of the table, by column. */
async function wardRow(page, ward) {
  const cells = (await page.locator(`table.wards tr[data-ward="${ward}"] td`).allInnerTexts()).map((s) => s.trim());
  const [residents, households, field, confirmed, unverified, gone, pending, coverage] = cells;
  return {
    residents: num(residents), households: num(households), field: num(field), confirmed: num(confirmed),
    unverified: num(unverified), gone: num(gone), pending: num(pending), coverage: coverage.replace(/\s+/g, ''),
  };
}

const card = async (page, cls) => (await page.locator(`.card.${cls} .figure`).first().innerText()).trim();

export default async function (t) {
  const { assert } = t;
  const roll = rollByWard();
  const stats = () => JSON.parse(t.server(['stats', '--json']));
  const before = stats();

  // What the seed made: the roll, three residents enrolled in ward 12 by
  // two tablets (the Iqbal pair and Sunita Sharma, whose phone is in conflict).
  const admin = await t.page({ role: 'admin' });
  await admin.goto(`${t.url}/console`);
  assert.equal(await admin.locator('h1').innerText(), 'Dashboard');
  const rollRows = Object.values(roll).reduce((n, w) => n + w.rows, 0);
  assert.equal(num(await card(admin, 'residents')), before.residents);
  assert.equal(num(await card(admin, 'households')), before.households);
  assert.equal(num(await card(admin, 'field')), before.residents - rollRows);
  assert.equal(num(await card(admin, 'field')), 3);
  assert.equal(num(await card(admin, 'confirmed')), 0);
  assert.equal(num(await card(admin, 'unverified')), rollRows);
  assert.equal(num(await card(admin, 'gone')), 0);
  assert.equal(num(await card(admin, 'pending')), 2, 'one duplicate pair and one conflict');
  assert.equal(await card(admin, 'coverage'), '0.0%');

  const w12 = await wardRow(admin, 12);
  assert.deepEqual(w12, {
    residents: roll['12'].rows + 3, households: before.households - roll['131'].houses.size, field: 3,
    confirmed: 0, unverified: roll['12'].rows, gone: 0, pending: 2, coverage: '0.0%',
  });
  assert.equal(w12.residents, before.residents_by_ward['12']);
  const w131 = await wardRow(admin, 131);
  assert.deepEqual(w131, {
    residents: roll['131'].rows, households: roll['131'].houses.size, field: 0,
    confirmed: 0, unverified: roll['131'].rows, gone: 0, pending: 0, coverage: '0.0%',
  });
  assert.equal(num(await admin.locator('table.wards tr.total td').first().innerText()), before.residents);

  // The chart: one bar per ward, described, the numbers in the table beside it.
  const chart = admin.locator('figure.coverage-chart svg[role="img"]');
  assert.equal(await chart.count(), 1);
  assert.match(await chart.locator('title').first().textContent(), /Coverage of the roll by ward/);
  assert.deepEqual(await chart.locator('rect.bar').evaluateAll((rs) => rs.map((r) => r.dataset.ward)), ['12', '131']);
  assert.match(await t.text(admin, 'figure.coverage-chart'), /below 25%/);

  // Tablets: the two seeded ones are active and synced today.
  const devices = () => JSON.parse(t.server(['device', 'list', '--json']));
  const active = devices().filter((d) => d.provisioned_at && !d.revoked_at).length;
  assert.equal(num(await card(admin, 'active')), active);
  assert.match(await card(admin, 'synced'), new RegExp(`^${active} / ${active}$`));
  assert.match(await t.text(admin, 'section.dash-tablets'), /Every active tablet has synced in the last 3 days/);
  const receivedBefore = num(await card(admin, 'received'));
  const enrolledBefore = num(await card(admin, 'enrolled'));
  assert.ok(receivedBefore >= 3, `the seed's records were received today (${receivedBefore})`);
  assert.equal(enrolledBefore, 3);
  assert.ok((await admin.locator('figure.hour-chart rect.bar').count()) >= 1, 'the hour chart has a bar');

  // A tablet in ward 131 enrolls someone new and syncs: the figures move.
  const tablet = t.tablet('Dashboard ward 131 tablet', 131);
  tablet.sync();
  tablet.enroll({
    given_name: 'Farida', family_name: 'Begum', name_hi: 'फ़रीदा बेगम', sex: 'female', birth_year: 1975,
    phone: '9811122233', address: { house: '3', street: 'Lane 5', ward: 131 },
  });
  tablet.sync();
  await admin.reload();
  assert.equal(num(await card(admin, 'residents')), before.residents + 1);
  assert.equal(num(await card(admin, 'field')), 4);
  assert.equal(num(await card(admin, 'enrolled')), enrolledBefore + 1);
  assert.ok(num(await card(admin, 'received')) >= receivedBefore + 1);
  const w131after = await wardRow(admin, 131);
  assert.equal(w131after.residents, roll['131'].rows + 1);
  assert.equal(w131after.field, 1);
  assert.equal(w131after.coverage, '0.0%', 'a field enrollment is not a confirmed roll row');
  assert.equal(num(await card(admin, 'active')), active + 1);

  // The tablet then goes quiet for five days: it is listed to be chased.
  const fiveDaysAgo = Math.floor(Date.now() / 1000) - 5 * 86400;
  const quiet = devices().find((d) => d.label === 'Dashboard ward 131 tablet');
  execFileSync('sqlite3', [t.db, `UPDATE devices SET last_sync_at = ${fiveDaysAgo} WHERE id = '${quiet.id}'`]);
  await admin.reload();
  const stale = await t.text(admin, 'table.stale');
  assert.match(stale, /Dashboard ward 131 tablet/);
  assert.match(stale, /131/);
  assert.doesNotMatch(stale, /Ward 12 tablet/);
  assert.equal(num(await admin.locator('table.stale tbody tr td.num').first().innerText()), 5);
  assert.match(await card(admin, 'synced'), new RegExp(`^${active} / ${active + 1}$`));
  assert.equal(await admin.locator('section.dash-tablets a[href="/console/tablets"]').count(), 1);
  await t.shot(admin, 'dashboard-en');

  // Sorting: lowest coverage first by default; by ward, or by what is
  // left to confirm, on request.
  await Promise.all([admin.waitForNavigation(), admin.click('table.wards thead a:has-text("Ward")')]);
  assert.match(admin.url(), /sort=ward/);
  assert.equal(await admin.getAttribute('table.wards th[aria-sort]', 'aria-sort'), 'ascending');
  assert.deepEqual(await admin.locator('table.wards tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.ward)), ['12', '131']);
  await Promise.all([admin.waitForNavigation(), admin.click('table.wards thead a:has-text("Still to confirm")')]);
  assert.deepEqual(await admin.locator('table.wards tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.ward)), ['12', '131']);
  assert.equal(await admin.getAttribute('table.wards th[aria-sort]', 'aria-sort'), 'descending');
  // A ward's link opens the search for that ward.
  assert.equal(await admin.getAttribute('table.wards tr[data-ward="131"] th a', 'href'), '/console/search?ward=131');
  // A made-up sort is refused in plain words; the page does not break.
  const bad = await admin.goto(`${t.url}/console?sort=%3Cb%3Ebold%3C%2Fb%3E`);
  assert.equal(bad.status(), 422);
  assert.match(await t.text(admin, 'body'), /cannot be sorted by “<b>bold<\/b>”.*coverage/);
  assert.equal(await admin.locator('b').count(), 0, 'the value is shown as text');

  // Every role sees the dashboard; only administrators get the tablet link.
  for (const role of ['reviewer', 'viewer']) {
    const page = await t.page({ role });
    await page.goto(`${t.url}/console`);
    assert.equal(num(await card(page, 'residents')), before.residents + 1);
    assert.equal(await page.locator('figure.coverage-chart').count(), 1);
    assert.match(await t.text(page, 'section.dash-tablets'), /Dashboard ward 131 tablet/);
    assert.equal(await page.locator('a[href="/console/tablets"]').count(), 0, `${role} is not offered tablet management`);
  }

  // Hindi.
  const hi = await t.page({ role: 'viewer', lang: 'hi' });
  await hi.goto(`${t.url}/console`);
  assert.equal(await hi.locator('h1').innerText(), 'डैशबोर्ड');
  const hiText = await t.text(hi);
  for (const s of ['निवासी', 'परिवार', 'फ़ील्ड में नामांकित', 'पुष्टि बाकी', 'समीक्षा बाकी', 'वार्डवार कवरेज', '3 दिन से ज़्यादा समय से सिंक नहीं हुए']) {
    assert.ok(hiText.includes(s), `Hindi page shows ${s}`);
  }
  assert.doesNotMatch(hiText, /Residents|Coverage by ward|Still to confirm/);
  assert.match(await hi.locator('figure.coverage-chart title').first().textContent(), /वार्डवार/);
  await t.shot(hi, 'dashboard-hi');

  // A tablet-width screen: nothing spills sideways but the ward table's own scroller.
  const narrow = await t.page({ role: 'admin', width: 800, height: 1000 });
  await narrow.goto(`${t.url}/console`);
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await t.shot(narrow, 'dashboard-narrow-en');
}
