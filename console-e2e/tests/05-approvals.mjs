// Card approval and printing: a reviewer approves a ready record, prints
// the batch as an A4 PDF of permanent cards whose QR codes verify against
// the registry key; a conflicted record is not offered and a forged approval
// of it is refused; a viewer cannot approve.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

async function post(page, url, fields) {
  return page.evaluate(
    async ({ url, fields }) => {
      const body = new URLSearchParams();
      for (const [k, v] of fields) body.append(k, v);
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
      return { status: r.status, text: await r.text() };
    },
    { url, fields },
  );
}

export default async function (t) {
  const { assert } = t;
  const kavita = t.seed.tabletA.enroll({
    given_name: 'Kavita', family_name: 'Rao', name_hi: 'कविता राव', sex: 'female', birth_year: 1985,
    phone: '9811100077', address: { house: '22', street: 'Main Road', ward: 12 },
  });
  t.seed.tabletA.sync();
  const sunita = t.seed.conflicted.id;

  const reviewer = await t.page({ role: 'reviewer' });
  await reviewer.goto(`${t.url}/console/approvals?ward=12`);
  let text = await t.text(reviewer);
  assert.match(text, /Kavita Rao/);
  assert.doesNotMatch(text, /Sunita Sharma/, 'a record with a field in conflict is not offered');
  await t.shot(reviewer, 'approvals-en');
  const hi = await t.page({ role: 'reviewer', lang: 'hi' });
  await hi.goto(`${t.url}/console/approvals?ward=12`);
  assert.match(await t.text(hi), /स्वीकृति के लिए तैयार/);
  await t.shot(hi, 'approvals-hi');

  // A forged approval of the conflicted record is refused; nothing changes.
  const forged = await post(reviewer, `${t.url}/console/approvals/approve`, [['csrf', await t.csrf(reviewer)], ['id', sunita]]);
  assert.equal(forged.status, 422);
  assert.match(forged.text, /fields in conflict/);

  // A viewer sees the lists but cannot approve.
  const viewer = await t.page({ role: 'viewer' });
  await viewer.goto(`${t.url}/console/approvals?ward=12`);
  assert.equal(await viewer.locator('input[name="id"]').count(), 0);
  const byViewer = await post(viewer, `${t.url}/console/approvals/approve`, [['csrf', await t.csrf(viewer)], ['id', kavita.id]]);
  assert.equal(byViewer.status, 403);

  // Approve Kavita.
  await reviewer.check(`input[name="id"][value="${kavita.id}"]`);
  await Promise.all([reviewer.waitForURL(/done=approved/), reviewer.click('form#approvals button[type=submit].primary')]);
  assert.match(await t.text(reviewer), /Approved 1 record/);
  await reviewer.goto(`${t.url}/console/approvals?tab=approved&ward=12`);
  text = await t.text(reviewer);
  assert.match(text, /Kavita Rao/);
  assert.doesNotMatch(text, /Sunita Sharma/);

  // Print it: an A4 PDF download whose QR verifies as a permanent card of the registry.
  await reviewer.check(`input[name="id"][value="${kavita.id}"]`);
  const [download] = await Promise.all([reviewer.waitForEvent('download'), reviewer.click('form#approvals button[type=submit].primary')]);
  assert.match(download.suggestedFilename(), /^ehcard-permanent-cards-.*-1\.pdf$/);
  const pdf = path.join(t.dir, 'batch.pdf');
  await download.saveAs(pdf);
  assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString(), '%PDF-');
  const info = execFileSync('pdfinfo', [pdf]).toString();
  assert.match(info, /Page size:\s+595\.\d+ x 841\.\d+/, 'A4 pages');
  execFileSync('pdftoppm', ['-r', '150', '-png', pdf, path.join(t.dir, 'batch')]);
  const back = fs.readdirSync(t.dir).filter((f) => /^batch-\d+\.png$/.test(f)).sort()[1];
  const qr = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', path.join(t.dir, back)]).toString().trim();
  assert.ok(qr.length > 100, 'a QR code on the back sheet');
  const verified = t.seed.tabletB.json(['verify', qr, '--json']);
  assert.equal(verified.valid, true);
  assert.equal(verified.signer, 'registry');
  assert.equal(verified.issue.kind, 'permanent');
  assert.equal(verified.card.health_id, kavita.health_id);

  // Now among the printed, once.
  await reviewer.goto(`${t.url}/console/approvals?tab=printed&ward=12`);
  text = await t.text(reviewer);
  assert.match(text, /Kavita Rao/);
  assert.match(await reviewer.locator('tr', { hasText: 'Kavita Rao' }).locator('td.num').last().innerText(), /^1$/);
}
