// Signing in and out, sessions, throttling, the language switch, and what
// each role is offered.
export default async function (t) {
  const { assert } = t;

  // No session: every page sends you to sign in, and comes back after.
  const anon = await t.page();
  await anon.goto(`${t.url}/console/duplicates`);
  assert.match(anon.url(), /\/console\/login\?next=\/console\/duplicates$/);
  await t.shot(anon, 'sign-in-en');
  await anon.fill('#name', 'reviewer');
  await anon.fill('#password', 'not the password at all');
  await anon.click('button[type=submit]');
  assert.match(await t.text(anon), /do not match an active account/);
  await anon.fill('#password', t.PASSWORDS.reviewer);
  await anon.click('button[type=submit]');
  await anon.waitForURL(/\/console\/duplicates$/);

  // The session cookie: HttpOnly, SameSite=Strict, scoped to the console.
  const cookies = await anon.context().cookies();
  const session = cookies.find((c) => c.name === 'ehcard_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/console');
  assert.equal(await anon.evaluate(() => document.cookie.includes('ehcard_session')), false);

  // Each role sees the sections it may use, and no others.
  const sections = async (page) => (await page.locator('header.top nav a').allInnerTexts()).map((s) => s.trim());
  await anon.goto(`${t.url}/console`);
  const viewer = await t.page({ role: 'viewer' });
  const admin = await t.page({ role: 'admin' });
  const seen = { viewer: await sections(viewer), reviewer: await sections(anon), admin: await sections(admin) };
  assert.deepEqual(seen.viewer, ['Dashboard', 'Search', 'Duplicates', 'Approval']);
  assert.deepEqual(seen.reviewer, ['Dashboard', 'Search', 'Duplicates', 'Approval', 'Audit log']);
  assert.deepEqual(seen.admin, ['Dashboard', 'Search', 'Duplicates', 'Approval', 'Tablets', 'Staff', 'Roll import', 'Audit log']);

  // A viewer asking for an administrator's page by its address is refused.
  const refused = await viewer.goto(`${t.url}/console/staff`);
  assert.equal(refused.status(), 403);
  assert.match(await t.text(viewer, 'body'), /Your role cannot do this \(viewer\)/);

  // Hindi, and back.
  await admin.goto(`${t.url}/console`);
  await admin.click('a.lang');
  assert.equal(await admin.getAttribute('html', 'lang'), 'hi');
  assert.match(await t.text(admin, 'header.top'), /डैशबोर्ड/);
  await admin.click('a.lang');
  assert.equal(await admin.getAttribute('html', 'lang'), 'en');

  // Signing out ends the session on the server: the old cookie opens nothing.
  await anon.click('header.top button:has-text("Sign out")');
  await anon.waitForURL(/\/console\/login$/);
  const replay = await fetch(`${t.url}/console`, {
    headers: { cookie: `ehcard_session=${session.value}` },
    redirect: 'manual',
  });
  assert.equal(replay.status, 303);
  assert.match(replay.headers.get('location'), /^\/console\/login/);

  // Five wrong passwords lock the account's sign-in for a while, even with
  // the right password after them.
  t.server(['user', 'add', 'clerk', '--role', 'viewer'], { EHCARD_PASSWORD: 'clerk-password-1234' });
  const hi = await t.page({ lang: 'hi' });
  await hi.goto(`${t.url}/console/login`);
  await t.shot(hi, 'sign-in-hi');
  for (let i = 0; i < 5; i++) {
    await hi.fill('#name', 'clerk');
    await hi.fill('#password', `wrong password ${i}`);
    await hi.click('button[type=submit]');
  }
  await hi.fill('#name', 'clerk');
  await hi.fill('#password', 'clerk-password-1234');
  const locked = await Promise.all([hi.waitForResponse((r) => r.url().endsWith('/console/login')), hi.click('button[type=submit]')]);
  assert.equal(locked[0].status(), 429);
  assert.match(await t.text(hi), /बहुत बार गलत साइन-इन हुआ/);
  assert.ok(hi.url().includes('/console/login'));
}
