// Roll import: an administrator uploads an extract. A file with bad rows
// imports nothing and lists each bad row (line, column, value, what is
// wrong); a good file is imported by a background job whose page shows its
// progress and then what it did; the same file again changes nothing; the
// new residents are in the registry. Only administrators may upload.
import fs from 'node:fs';
import path from 'node:path';

const HEADER = 'epic,name_en,name_hi,relation_type,relation_name_en,relation_name_hi,age,date_of_birth,sex,house_no,section,ward,part_no,serial_no';
const GOOD = [
  'DLZ3100001,Bhavna Kapoor,भावना कपूर,F,Raj Kapoor,राज कपूर,33,,F,31/4,Gali No 2 Kalyanpuri,31,2,1',
  'DLZ3100002,Raj Kapoor,राज कपूर,F,Mohan Kapoor,मोहन कपूर,61,,M,31/4,Gali No 2 Kalyanpuri,31,2,2',
  'DLZ3100003,Imran Siddiqui,इमरान सिद्दीकी,F,Salim Siddiqui,सलीम सिद्दीकी,45,,M,31/9,Gali No 2 Kalyanpuri,31,2,3',
  'DLZ3100004,Farah Siddiqui,फ़रह सिद्दीकी,H,Imran Siddiqui,इमरान सिद्दीकी,41,,F,31/9,Gali No 2 Kalyanpuri,31,2,4',
  'DLZ3100005,Gurpreet Kaur,गुरप्रीत कौर,F,Harbhajan Singh,हरभजन सिंह,29,,F,31/12,Gali No 3 Kalyanpuri,31,2,5',
];
const BAD = [
  GOOD[0],
  'DLZ3100006,Arjun Mehta,अर्जुन मेहता,F,Vikas Mehta,विकास मेहता,abc,,M,31/14,Gali No 3 Kalyanpuri,31,2,6',
  'DLZ3100007,Kiran Rao,किरण राव,F,Suresh Rao,सुरेश राव,38,,Q,31/15,Gali No 3 Kalyanpuri,31,2,7',
  'DLZ3100008,Deepak Jain,दीपक जैन,F,Anil Jain,अनिल जैन,50,,M,31/16,Gali No 3 Kalyanpuri,999,2,8',
  GOOD[1],
];

function residents(t) {
  return JSON.parse(t.server(['stats', '--json'])).residents;
}

/** Upload through the form (with JavaScript: progress, then the job page); the job page's final text. */
async function upload(t, page, file) {
  await page.goto(`${t.url}/console/roll`);
  await page.setInputFiles('#file', file);
  await Promise.all([page.waitForURL(/\/console\/roll\/jobs\/\d+$/), page.click('form.upload button[type=submit]')]);
  // The job page refreshes itself until the job ends.
  // (this job's own state, not the list of recent uploads below it)
  await page.waitForSelector('#job-state [data-state]:not([data-state="running"])', { timeout: 60_000 });
  return t.text(page);
}

export default async function (t) {
  const { assert } = t;
  const dir = fs.mkdtempSync(path.join(t.dir, 'roll-'));
  const badFile = path.join(dir, 'ward31-draft.csv');
  const goodFile = path.join(dir, 'ward31.csv');
  fs.writeFileSync(badFile, [HEADER, ...BAD, ''].join('\n'));
  fs.writeFileSync(goodFile, [HEADER, ...GOOD, ''].join('\n'));

  const admin = await t.page({ role: 'admin' });
  await admin.goto(`${t.url}/console/roll`);
  assert.match(await admin.getAttribute('form.upload', 'action'), /^\/console\/roll\?csrf=/);
  assert.equal(await admin.getAttribute('form.upload', 'enctype'), 'multipart/form-data');
  await t.shot(admin, 'roll-en');

  // Bad rows: each listed, nothing imported.
  const count = residents(t);
  const rejected = await upload(t, admin, badFile);
  assert.match(rejected, /3 of 5 rows are wrong, so nothing was imported/);
  const errors = await admin.locator('table.row-errors tbody tr').evaluateAll((rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ')));
  assert.equal(errors.length, 3, errors.join('\n'));
  assert.match(errors[0], /^3 age abc /);
  assert.match(errors[1], /^4 sex Q /);
  assert.match(errors[2], /^5 ward 999 /);
  assert.equal(residents(t), count, 'nothing was imported');
  await t.shot(admin, 'roll-errors-en');

  // A good file: progress, then the summary.
  const done = await upload(t, admin, goodFile);
  assert.match(done, /Imported: 5 rows/);
  assert.equal(await admin.locator('[data-figure="added"] .figure').innerText(), '5');
  assert.equal(await admin.locator('[data-figure="households_added"] .figure').innerText(), '3');
  assert.equal(residents(t), count + 5);
  await t.shot(admin, 'roll-done-en');
  const jobUrl = admin.url();

  // The same file again changes nothing.
  const again = await upload(t, admin, goodFile);
  assert.match(again, /Imported: 5 rows/);
  assert.equal(await admin.locator('[data-figure="added"] .figure').innerText(), '0');
  assert.equal(await admin.locator('[data-figure="unchanged"] .figure').innerText(), '5');
  assert.equal(residents(t), count + 5);
  // Recent uploads: all three, newest first.
  const recent = await admin.locator('table.jobs tbody tr').evaluateAll((rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ')));
  assert.match(recent[0], /ward31\.csv .* imported/);
  assert.match(recent[2], /ward31-draft\.csv .* nothing imported/);

  // The new residents are in the registry (the search page, when there is one; the CLI always).
  const search = await admin.goto(`${t.url}/console/search?q=Gurpreet`);
  if (search.status() === 200) assert.match(await t.text(admin), /Gurpreet/);
  const stats = JSON.parse(t.server(['stats', '--json']));
  assert.equal(stats.residents_by_ward['31'] >= 5, true, JSON.stringify(stats.residents_by_ward));

  // No file, a bad date, a wrong content type: refused, nothing changes.
  const csrf = await t.csrf(admin);
  const refusals = await admin.evaluate(async (csrf) => {
    const out = [];
    const empty = new FormData();
    out.push((await fetch(`/console/roll?csrf=${encodeURIComponent(csrf)}`, { method: 'POST', body: empty })).status);
    const future = new FormData();
    future.append('as_of', '2999-01-01');
    future.append('file', new Blob(['epic\n']), 'x.csv');
    out.push((await fetch(`/console/roll?csrf=${encodeURIComponent(csrf)}`, { method: 'POST', body: future })).status);
    const noToken = new FormData();
    noToken.append('file', new Blob(['epic\n']), 'x.csv');
    out.push((await fetch('/console/roll', { method: 'POST', body: noToken })).status);
    return out;
  }, csrf);
  assert.deepEqual(refusals, [422, 422, 403]);

  // Reviewers and viewers may not upload, nor see uploads.
  for (const role of ['reviewer', 'viewer']) {
    const p = await t.page({ role });
    assert.equal((await p.goto(`${t.url}/console/roll`)).status(), 403);
    assert.equal((await p.goto(jobUrl)).status(), 403);
    const status = await p.evaluate(async () => {
      const form = new FormData();
      form.append('file', new Blob(['epic\n']), 'x.csv');
      return (await fetch('/console/roll', { method: 'POST', body: form, headers: { 'x-csrf-token': document.body.dataset.csrf } })).status;
    });
    assert.equal(status, 403);
  }
  assert.equal(residents(t), count + 5);

  // Hindi.
  const hi = await t.page({ role: 'admin', lang: 'hi' });
  await hi.goto(`${t.url}/console/roll`);
  await t.shot(hi, 'roll-hi');
  const hiText = await upload(t, hi, badFile);
  assert.match(hiText, /पंक्तियाँ गलत हैं, इसलिए कुछ भी आयात नहीं हुआ/);
  await t.shot(hi, 'roll-errors-hi');
}
