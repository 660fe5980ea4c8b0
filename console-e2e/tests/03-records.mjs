// Search and the record view: search in English and Hindi, open the seeded
// conflicted record (Sunita Sharma: phone 9811100002 on tablet A, 9811100003
// on tablet B), see both values with their tablets, settle it as a reviewer,
// and see the history say so; a viewer sees the record but no form, and a
// forged resolution from a viewer is refused and changes nothing. Names
// holding HTML or SQL are shown as text.
export default async function (t) {
  const { assert } = t;
  const id = t.seed.conflicted.id;
  const recordUrl = `${t.url}/console/records/${id}`;

  // Search in English: the box, then the results table.
  const en = await t.page({ role: 'reviewer' });
  await en.goto(`${t.url}/console/search`);
  await en.fill('#q', 'Sunita');
  await Promise.all([en.waitForURL(/q=Sunita/), en.press('#q', 'Enter')]);
  const found = await t.text(en, 'table.results');
  assert.match(found, /Sunita Sharma/);
  assert.match(found, /सुनीता शर्मा/);
  assert.match(found, /Conflicts/);
  await t.shot(en, 'search-en');
  // A roll resident by given and family name.
  await en.fill('#q', 'ram sharma');
  await Promise.all([en.waitForURL(/q=ram/), en.press('#q', 'Enter')]);
  assert.match(await t.text(en, 'table.results'), /Ram Prasad Sharma/);

  // Search in Hindi, typing Devanagari.
  const hi = await t.page({ role: 'reviewer', lang: 'hi' });
  await hi.goto(`${t.url}/console/search`);
  await hi.fill('#q', 'सुनीता');
  await Promise.all([hi.waitForURL(/q=/), hi.click('form.search button[type=submit]')]);
  assert.match(await t.text(hi, 'table.results'), /सुनीता शर्मा/);
  assert.match(await t.text(hi, 'thead'), /हिंदी में नाम/);
  await t.shot(hi, 'search-hi');

  // The conflicted record: both values, each with its tablet and worker.
  await en.goto(`${t.url}/console/search?q=Sunita`);
  await Promise.all([en.waitForURL(recordUrl), en.click(`table.results a[href="/console/records/${id}"]`)]);
  const conflict = await t.text(en, 'section.conflicts');
  assert.match(conflict, /Mobile number/);
  assert.match(conflict, /9811100002[^]*Ward 12 tablet A/);
  assert.match(conflict, /9811100003[^]*Ward 12 tablet B/);
  assert.match(conflict, /surveyor/);
  assert.match(await t.text(en, 'section.history'), /Ward 12 tablet A/);
  await t.shot(en, 'record-conflict-en');
  await hi.goto(recordUrl);
  assert.match(await t.text(hi, 'section.conflicts'), /कौन-सा मान सही है/);
  await t.shot(hi, 'record-conflict-hi');
  const heads = await en.getAttribute('section.conflicts input[name=heads]', 'value');

  // A viewer: the record and its conflict, but no form; a forged POST is refused.
  const viewer = await t.page({ role: 'viewer' });
  await viewer.goto(recordUrl);
  const seen = await t.text(viewer, 'section.conflicts');
  assert.match(seen, /9811100002/);
  assert.match(seen, /9811100003/);
  assert.equal(await viewer.locator('form[action$="/resolve"]').count(), 0);
  const csrf = await t.csrf(viewer);
  const status = await viewer.evaluate(
    async ({ url, csrf, heads }) => {
      const body = new URLSearchParams({ csrf, heads, field: 'phone', choice: '"9811100003"' });
      const r = await fetch(url, { method: 'POST', body, redirect: 'manual' });
      return r.status;
    },
    { url: `${recordUrl}/resolve`, csrf, heads },
  );
  assert.equal(status, 403);
  await viewer.reload();
  assert.equal(await viewer.locator('section.conflicts').count(), 1, 'the refused POST changed nothing');
  const shown = JSON.parse(t.seed.tabletB.run(['show', id, '--json']));
  assert.equal(shown.conflicts.length, 1);

  // A typed value is checked like a tablet's edit: refused, nothing changes.
  await en.check('section.conflicts input[value=other]');
  await en.fill('section.conflicts input.other', '12345');
  await Promise.all([en.waitForLoadState('load'), en.click('section.conflicts button[type=submit]')]);
  assert.match(await t.text(en), /10 digits starting with 6-9/);
  assert.match(await t.text(en), /Nothing was changed/);
  assert.equal(await en.inputValue('section.conflicts input.other'), '12345', 'what was typed is kept to correct');
  assert.equal(await en.locator('section.conflicts').count(), 1);

  // The reviewer picks tablet A's value.
  await en.goto(recordUrl);
  await en.check('section.conflicts input[value=\'"9811100002"\']');
  await Promise.all([en.waitForURL(/resolved=phone/), en.click('section.conflicts button[type=submit]')]);
  assert.match(await t.text(en, 'p.notice'), /Conflict settled: Mobile number/);
  assert.equal(await en.locator('section.conflicts').count(), 0, 'no conflict left');
  assert.match(await t.text(en, 'table.fields'), /9811100002/);
  const history = await t.text(en, 'section.history tbody tr:first-child');
  assert.match(history, /Registry console/);
  assert.match(history, /reviewer/);
  assert.match(history, /Mobile number: (9811100002 \| 9811100003|9811100003 \| 9811100002) \(in conflict\) → 9811100002/);
  await t.shot(en, 'record-en');
  await hi.goto(recordUrl);
  assert.match(await t.text(hi, 'section.history'), /रजिस्ट्री कंसोल/);
  await t.shot(hi, 'record-hi');
  // The tablets pull the resolution.
  t.seed.tabletB.sync();
  const after = JSON.parse(t.seed.tabletB.run(['show', id, '--json']));
  assert.equal(after.phone, '9811100002');
  assert.equal(after.conflicts.length, 0);

  // HTML and SQL in a name are shown as text, and nothing runs.
  const evil = t.seed.tabletA.enroll({
    given_name: '<script>alert(1)</script>', family_name: "Robert'); DROP TABLE residents;--",
    sex: 'male', birth_year: 1971, address: { ward: 12 },
  });
  t.seed.tabletA.sync();
  let dialogs = 0;
  en.on('dialog', async (d) => {
    dialogs++;
    await d.dismiss();
  });
  await en.goto(`${t.url}/console/search?q=robert`);
  const row = await t.text(en, 'table.results');
  assert.ok(row.includes("<script>alert(1)</script> Robert'); DROP TABLE residents;--"), row);
  await en.goto(`${t.url}/console/records/${evil.id}`);
  assert.ok((await t.text(en, 'h1')).includes('<script>alert(1)</script>'));
  assert.equal(dialogs, 0, 'no script ran');
  const stats = JSON.parse(t.server(['stats', '--json']));
  assert.ok(stats.residents > 10, 'the residents table is still there');

  // Later files (approvals) expect Sunita's record to hold a conflict, as
  // seeded: the two tablets disagree on her phone once more.
  t.seed.tabletA.sync();
  t.seed.tabletA.run(['edit', id, '--set', 'phone=9811100004']);
  t.seed.tabletB.run(['edit', id, '--set', 'phone=9811100005']);
  t.seed.tabletA.sync();
  t.seed.tabletB.sync();
  t.seed.tabletA.sync();
  await en.goto(recordUrl);
  const again = await t.text(en, 'section.conflicts');
  assert.match(again, /9811100004/);
  assert.match(again, /9811100005/);
}
