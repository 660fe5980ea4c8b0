// The audit log: reviewers and administrators find what staff did (here,
// what the earlier test files did) by who, what, about whom and when;
// viewers cannot read it; nothing can change it.

export default async function (t) {
  const { assert } = t;
  const reviewer = await t.page({ role: 'reviewer' });
  await reviewer.goto(`${t.url}/console/audit`);
  const all = await t.text(reviewer);
  assert.match(all, /Signed in/);
  assert.equal(await reviewer.locator('[style]:not([style=""])').count(), 0, 'no inline style (CSP)');
  // The seed's command-line steps are there too.
  const actions = await reviewer.locator('#action option').evaluateAll((o) => o.map((x) => x.value));
  for (const a of ['console.sign_in', 'user_add', 'device_add', 'import_roll']) assert.ok(actions.includes(a), `${a} in ${actions}`);
  await t.shot(reviewer, 'audit-en');

  const rows = async (page) =>
    page.locator('table.audit tbody tr').evaluateAll((trs) =>
      trs.map((r) => ({ action: r.dataset.action, seq: Number(r.dataset.seq), text: r.innerText.replace(/\s+/g, ' ') })),
    );

  // By who and what: the administrator's tablets (06-tablets).
  await reviewer.fill('#actor', 'admin');
  await reviewer.selectOption('#action', 'console.tablet_add');
  await Promise.all([reviewer.waitForNavigation(), reviewer.click('form.filters button[type=submit]')]);
  let found = await rows(reviewer);
  assert.ok(found.length >= 3, JSON.stringify(found));
  assert.ok(found.every((r) => r.action === 'console.tablet_add' && / admin /.test(` ${r.text} `)));
  assert.ok(found.some((r) => /Ward 31 team 7/.test(r.text)), 'the detail names the tablet');
  assert.ok(found.every((r, i) => i === 0 || r.seq < found[i - 1].seq), 'newest first');

  await reviewer.selectOption('#action', 'console.tablet_revoke');
  await Promise.all([reviewer.waitForNavigation(), reviewer.click('form.filters button[type=submit]')]);
  found = await rows(reviewer);
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.match(found[0].text, /Ward 31 team 8/);

  // About one staff account (07-staff): added, password reset, disabled, her sign-ins.
  await reviewer.goto(`${t.url}/console/audit?subject=asha.review`);
  const asha = (await rows(reviewer)).map((r) => r.action);
  for (const a of ['console.staff_add', 'console.staff_password', 'console.staff_disable', 'console.sign_in', 'console.sign_in_failed']) {
    assert.ok(asha.includes(a), `${a} in ${asha}`);
  }
  // By who: her own actions only.
  await reviewer.goto(`${t.url}/console/audit?actor=asha.review`);
  assert.ok((await rows(reviewer)).every((r) => / asha\.review /.test(` ${r.text} `)));

  // Roll uploads (08-roll): who uploaded which file, and the result.
  await reviewer.goto(`${t.url}/console/audit?action=console.roll_import`);
  const imports = await rows(reviewer);
  assert.ok(imports.some((r) => /ward31\.csv/.test(r.text) && /done/.test(r.text)), JSON.stringify(imports));
  assert.ok(imports.some((r) => /ward31-draft\.csv/.test(r.text) && /rejected/.test(r.text)));

  // Dates: today finds them; a day long ago finds nothing; a bad date is refused.
  const today = new Date(Date.now() + 5.5 * 3600 * 1000).toISOString().slice(0, 10);
  await reviewer.goto(`${t.url}/console/audit?action=console.tablet_add&from=${today}&to=${today}`);
  assert.ok((await rows(reviewer)).length >= 3);
  await reviewer.goto(`${t.url}/console/audit?from=2001-01-01&to=2001-01-02`);
  assert.match(await t.text(reviewer), /No entries match/);
  const badDate = await reviewer.goto(`${t.url}/console/audit?from=yesterday`);
  assert.equal(badDate.status(), 422);

  // Keyset pages: the next page starts below the last entry shown.
  await reviewer.goto(`${t.url}/console/audit`);
  const first = await rows(reviewer);
  const older = reviewer.locator('a[rel=next]');
  if ((await older.count()) > 0) {
    await Promise.all([reviewer.waitForNavigation(), older.click()]);
    const second = await rows(reviewer);
    assert.ok(second[0].seq < first[first.length - 1].seq);
  }

  // Read-only: no route changes it.
  const post = await reviewer.evaluate(async () => (await fetch('/console/audit', { method: 'POST', body: new URLSearchParams({ csrf: document.body.dataset.csrf }) })).status);
  assert.ok(post >= 400, `POST /console/audit answered ${post}`);

  // Viewers may not read it.
  const viewer = await t.page({ role: 'viewer' });
  assert.equal((await viewer.goto(`${t.url}/console/audit`)).status(), 403);

  const hi = await t.page({ role: 'admin', lang: 'hi' });
  await hi.goto(`${t.url}/console/audit?actor=admin`);
  assert.match(await t.text(hi), /टैबलेट जोड़ा \(कंसोल\)/);
  await t.shot(hi, 'audit-hi');
}
