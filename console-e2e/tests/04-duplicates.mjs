// The duplicate queue: a reviewer compares the seeded pair (Mohammad /
// Mohd Iqbal) side by side and merges it with the keyboard, taking the
// blood group from the right; a viewer sees the queue but cannot decide
// (a forged POST is refused and changes nothing); an administrator undoes
// the merge; the reviewer then marks the two as different people.
export default async function (t) {
  const { assert } = t;
  const [a, b] = [t.seed.dupA.id, t.seed.dupB.id].sort();
  const pairUrl = `${t.url}/console/duplicates/${a}/${b}`;
  const pairState = () => {
    const all = JSON.parse(t.server(['duplicates', '--status', 'all', '--json']));
    return all.find((p) => p.a === a && p.b === b);
  };
  assert.equal(pairState().status, 'pending');

  // A viewer sees the queue and the pair, but no way to decide.
  const viewer = await t.page({ role: 'viewer' });
  await viewer.goto(`${t.url}/console/duplicates`);
  const queueText = await t.text(viewer);
  assert.match(queueText, /Mohammad Iqbal/);
  assert.match(queueText, /Mohd Iqbal/);
  await viewer.goto(pairUrl);
  assert.equal(await viewer.locator('button[data-key="m"]').count(), 0, 'no merge button for a viewer');
  assert.equal(await viewer.locator('button[data-key="n"]').count(), 0);
  assert.match(await t.text(viewer), /cannot decide|not decide/);
  const csrf = await t.csrf(viewer);
  const forged = await viewer.evaluate(
    async ({ url, csrf, a }) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, survivor: a }).toString(),
      });
      return r.status;
    },
    { url: `${pairUrl}/merge`, csrf, a },
  );
  assert.equal(forged, 403);
  assert.equal(pairState().status, 'pending', 'the forged merge changed nothing');

  // The reviewer: the queue, then the pair side by side with its reasons.
  const reviewer = await t.page({ role: 'reviewer' });
  await reviewer.goto(`${t.url}/console/duplicates`);
  assert.match(await t.text(reviewer), /pairs waiting for a decision/);
  await t.shot(reviewer, 'duplicates-en');
  const hi = await t.page({ role: 'reviewer', lang: 'hi' });
  await hi.goto(`${t.url}/console/duplicates`);
  assert.match(await t.text(hi), /जोड़ियाँ निर्णय की प्रतीक्षा में/);
  await t.shot(hi, 'duplicates-hi');
  await hi.goto(pairUrl);
  assert.match(await t.text(hi), /मिलता-जुलता नाम/);
  await t.shot(hi, 'duplicate-pair-hi');

  // "j" opens the best pair; ours is the only one seeded.
  await Promise.all([reviewer.waitForURL(/\/console\/duplicates\/.+\/.+/), reviewer.keyboard.press('j')]);
  await reviewer.goto(pairUrl);
  const pairText = await t.text(reviewer);
  assert.match(pairText, /Similar name/);
  assert.match(pairText, /Same ward/);
  assert.match(pairText, /Suggested record to keep: Mohammad Iqbal/);
  assert.match(pairText, /enrolled first/);
  // Blood group differs (B+ / O+): a choice, defaulting to the kept record's.
  const row = reviewer.locator('tr[data-field="blood_group"]');
  assert.equal(await row.getAttribute('class'), 'field choose');
  assert.equal(await reviewer.isChecked(`tr[data-field="blood_group"] input[value="${t.seed.dupA.id}"]`), true);
  await t.shot(reviewer, 'duplicate-pair-en');

  // The help opens with "?"; "s" swaps the kept record and back.
  await reviewer.keyboard.press('?');
  assert.equal(await reviewer.locator('details.keys').getAttribute('open'), '');
  await reviewer.keyboard.press('s');
  assert.equal(await reviewer.isChecked(`input[name="survivor"][value="${t.seed.dupB.id}"]`), true);
  assert.equal(await reviewer.isChecked(`tr[data-field="blood_group"] input[value="${t.seed.dupB.id}"]`), true);
  await reviewer.keyboard.press('s');
  assert.equal(await reviewer.isChecked(`input[name="survivor"][value="${t.seed.dupA.id}"]`), true);

  // Take the blood group from the right (Mohd's O+) by its number key, then merge with "m".
  const key = await row.locator('button[data-flip]').getAttribute('data-key');
  await reviewer.keyboard.press(key);
  assert.equal(await reviewer.isChecked(`tr[data-field="blood_group"] input[value="${b}"]`), true);
  await Promise.all([reviewer.waitForURL((u) => !u.pathname.endsWith(`/${b}`)), reviewer.keyboard.press('m')]);
  const after = await t.text(reviewer);
  assert.match(after, /Merged Mohd Iqbal into Mohammad Iqbal/);
  assert.match(after, /No pairs are waiting|Why they may be one person/, 'the next pair, or the empty queue');
  assert.equal(pairState().status, 'merged');

  // The survivor holds O+ with no conflict on it, and tablets pull it.
  t.seed.tabletA.sync();
  const kept = t.seed.tabletA.json(['show', t.seed.dupA.id, '--json']);
  assert.equal(kept.blood_group, 'O+');
  assert.ok(!(kept.conflicts || []).some((c) => c.field === 'blood_group'), JSON.stringify(kept.conflicts));
  const merged = t.seed.tabletA.json(['show', t.seed.dupB.id, '--json']);
  assert.equal(merged.merged_into, t.seed.dupA.id);

  // Deciding the same pair again (a stale page) is refused, and nothing changes.
  await reviewer.goto(pairUrl);
  assert.equal(await reviewer.locator('button[data-key="m"]').count(), 0);
  const stale = await reviewer.evaluate(
    async ({ url, csrf, a }) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, survivor: a }).toString(),
      });
      return { status: r.status, text: await r.text() };
    },
    { url: `${pairUrl}/merge`, csrf: await t.csrf(reviewer), a },
  );
  assert.equal(stale.status, 422);
  assert.match(stale.text, /already decided this pair/);
  // A reviewer cannot undo.
  await reviewer.goto(`${t.url}/console/merges`);
  assert.equal(await reviewer.locator('form[action$="/undo"]').count(), 0);
  const undoByReviewer = await reviewer.evaluate(
    async ({ url, csrf }) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}` })).status,
    { url: `${t.url}/console/merges/${t.seed.dupB.id}/undo`, csrf: await t.csrf(reviewer) },
  );
  assert.equal(undoByReviewer, 403);
  assert.equal(pairState().status, 'merged');

  // The administrator undoes it from the list of merges.
  const admin = await t.page({ role: 'admin' });
  await admin.goto(`${t.url}/console/merges`);
  assert.match(await t.text(admin), /Mohd Iqbal/);
  await t.shot(admin, 'merges-en');
  admin.on('dialog', (d) => d.accept());
  await Promise.all([admin.waitForURL(/done=undone/), admin.click(`form[action="/console/merges/${t.seed.dupB.id}/undo"] button`)]);
  assert.match(await t.text(admin), /Undid the merge/);
  assert.equal(pairState().status, 'pending');

  // Back in the queue: the reviewer decides they are different people ("n").
  await reviewer.goto(pairUrl);
  await Promise.all([reviewer.waitForURL((u) => u.searchParams.get('done') === 'different'), reviewer.keyboard.press('n')]);
  assert.match(await t.text(reviewer), /are different people/);
  assert.equal(pairState().status, 'not_duplicate');
}
