// Staff accounts: an administrator adds a reviewer, who can then sign in;
// bad input is refused and adds nothing; a password reset and a disable
// end the account's open sessions at once; nobody disables themself; and
// only administrators may do any of it.

/** POST a form from a signed-in page (its own CSRF token); the status and page text. */
async function post(t, page, path, fields) {
  return page.evaluate(
    async ([path, fields]) => {
      const body = new URLSearchParams({ csrf: document.body.dataset.csrf, ...fields });
      const r = await fetch(path, { method: 'POST', body });
      return { status: r.status, text: (await r.text()).replace(/\s+/g, ' ') };
    },
    [path, fields],
  );
}

export default async function (t) {
  const { assert } = t;
  const admin = await t.page({ role: 'admin' });
  admin.on('dialog', (d) => d.accept());
  await admin.goto(`${t.url}/console/staff`);
  const names = async () => admin.locator('tr[data-staff]').evaluateAll((rows) => rows.map((r) => r.dataset.staff));
  const before = await names();
  for (const n of ['admin', 'reviewer', 'viewer']) assert.ok(before.includes(n), `${n} is listed`);
  // One's own account has no disable button.
  assert.equal(await admin.locator('tr[data-staff="admin"] button.danger').count(), 0);

  // Bad input (past the browser's own checks): refused, nothing added.
  for (const [fields, says] of [
    [{ name: 'asha.review', role: 'reviewer', password: 'short' }, /at least 12/],
    [{ name: 'has space', role: 'reviewer', password: 'a long enough password' }, /3 to 40 letters/],
    [{ name: 'asha.review', role: 'root', password: 'a long enough password' }, /Choose a role/],
    [{ name: 'reviewer', role: 'viewer', password: 'a long enough password' }, /already an account/],
    [{}, /Choose a role/],
  ]) {
    const r = await post(t, admin, '/console/staff', fields);
    assert.equal(r.status, 422, JSON.stringify(fields));
    assert.match(r.text, says);
  }
  await admin.reload();
  assert.deepEqual(await names(), before);

  // Add a reviewer through the form.
  await admin.fill('#name', 'asha.review');
  await admin.selectOption('#role', 'reviewer');
  await admin.fill('#password', 'asha-password-1234');
  await Promise.all([admin.waitForNavigation(), admin.click('section.add-staff button[type=submit]')]);
  assert.match(await t.text(admin), /Account asha\.review \(reviewer\) was added/);
  await t.shot(admin, 'staff-en');

  // She signs in and works as a reviewer.
  const asha = await t.page();
  await t.signIn(asha, 'asha.review', 'asha-password-1234');
  await asha.goto(`${t.url}/console`);
  assert.match(await t.text(asha, 'header.top'), /asha\.review/);
  assert.equal((await asha.goto(`${t.url}/console/staff`)).status(), 403);
  // A reviewer's forged account request changes nothing.
  const forged = await post(t, asha, '/console/staff', { name: 'mallory', role: 'admin', password: 'mallory-password-1234' });
  assert.equal(forged.status, 403);
  await admin.reload();
  assert.ok(!(await names()).includes('mallory'));

  // Reset her password: her open session ends; the new password works, the old does not.
  await admin.click('tr[data-staff="asha.review"] summary');
  await admin.fill('#pw-asha\\.review', 'asha-new-password-99');
  await Promise.all([admin.waitForNavigation(), admin.click('tr[data-staff="asha.review"] details button[type=submit]')]);
  assert.match(await t.text(admin), /The password of asha\.review was changed/);
  await asha.goto(`${t.url}/console`);
  assert.match(asha.url(), /\/console\/login/);
  await asha.fill('#name', 'asha.review');
  await asha.fill('#password', 'asha-password-1234');
  await asha.click('button[type=submit]');
  assert.match(await t.text(asha), /do not match an active account/);
  await t.signIn(asha, 'asha.review', 'asha-new-password-99');

  // Disable her: the open session ends at once, and she cannot sign in again.
  await Promise.all([admin.waitForNavigation(), admin.click('tr[data-staff="asha.review"] button.danger')]);
  assert.match(await t.text(admin), /Account asha\.review is disabled/);
  assert.match(await admin.locator('tr[data-staff="asha.review"]').innerText(), /disabled/);
  await asha.goto(`${t.url}/console/duplicates`);
  assert.match(asha.url(), /\/console\/login/);
  await asha.fill('#name', 'asha.review');
  await asha.fill('#password', 'asha-new-password-99');
  await asha.click('button[type=submit]');
  assert.match(await t.text(asha), /do not match an active account/);

  // Nobody disables themself, even by a hand-made request.
  const self = await post(t, admin, '/console/staff/admin/disable', {});
  assert.equal(self.status, 422);
  assert.match(self.text, /cannot disable your own account/);
  const unknown = await post(t, admin, '/console/staff/nobody-here/disable', {});
  assert.equal(unknown.status, 404);
  await admin.reload();
  assert.match(await admin.locator('tr[data-staff="admin"]').innerText(), /active/);

  // Viewers and reviewers: not their page.
  for (const role of ['viewer', 'reviewer']) {
    const p = await t.page({ role });
    assert.equal((await p.goto(`${t.url}/console/staff`)).status(), 403);
    const r = await post(t, p, '/console/staff/viewer/disable', {});
    assert.equal(r.status, 403);
  }
  await admin.reload();
  assert.match(await admin.locator('tr[data-staff="viewer"]').innerText(), /active/);

  const hi = await t.page({ role: 'admin', lang: 'hi' });
  await hi.goto(`${t.url}/console/staff`);
  assert.match(await t.text(hi), /नया खाता जोड़ें/);
  await t.shot(hi, 'staff-hi');
}
