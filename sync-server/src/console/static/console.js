// ehcard registry console: progressive enhancement only. Every page works
// without this file; with it, forms ask before destructive actions, keyboard
// shortcuts work, and uploads show their progress.
'use strict';

// Ask before a form marked data-confirm="question" is sent.
document.addEventListener('submit', (ev) => {
  const form = ev.target;
  const question = form.getAttribute('data-confirm') ||
    (ev.submitter && ev.submitter.getAttribute('data-confirm'));
  if (question && !window.confirm(question)) ev.preventDefault();
});

// Keyboard shortcuts: an element with data-key="x" is clicked when x is
// pressed outside a text field (no modifier keys).
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const key = ev.key === '/' ? 'slash' : ev.key.toLowerCase();
  const el = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!el) return;
  ev.preventDefault();
  if (el.tagName === 'INPUT' && el.type !== 'submit') el.focus(); else el.click();
});

// Uploads with progress: a form with data-upload sends its file with
// XMLHttpRequest and shows the bytes sent in its .progress bar, then shows
// the answer page.
document.addEventListener('submit', (ev) => {
  const form = ev.target;
  if (!form.hasAttribute('data-upload') || ev.defaultPrevented) return;
  ev.preventDefault();
  const bar = form.querySelector('.progress > span');
  const label = form.querySelector('[data-progress-label]');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', form.action);
  xhr.setRequestHeader('x-csrf-token', document.body.dataset.csrf || '');
  xhr.upload.addEventListener('progress', (e) => {
    if (!e.lengthComputable) return;
    const pct = Math.round((100 * e.loaded) / e.total);
    if (bar) bar.style.width = pct + '%';
    if (label) label.textContent = pct + '%';
  });
  xhr.addEventListener('load', () => {
    // Redirected (to the upload's job page): go there, so the address bar,
    // the back button and the page's own refresh all name that page.
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== new URL(form.action, location.href).pathname) {
      location.assign(xhr.responseURL);
      return;
    }
    document.open();
    document.write(xhr.responseText);
    document.close();
  });
  xhr.addEventListener('error', () => {
    if (label) label.textContent = form.getAttribute('data-upload-failed') || 'Upload failed';
  });
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  xhr.send(new FormData(form));
});

// == review: duplicate pairs and approvals ==
// On a pair: "swap" changes which record is kept; the values of fields in
// conflict follow the kept record until the reviewer picks one (a flip
// button or its number key takes the other value). On the approval lists,
// a checkbox selects every record on the page.
(() => {
  const radios = (name) => Array.from(document.querySelectorAll(`input[type=radio][name="${CSS.escape(name)}"]`));
  const follow = () => {
    const kept = radios('survivor').find((r) => r.checked);
    if (!kept) return;
    for (const r of document.querySelectorAll('input[type=radio][name^="keep."]')) {
      if (r.dataset.touched !== '1' && r.value === kept.value) r.checked = true;
    }
  };
  document.addEventListener('click', (ev) => {
    const swap = ev.target.closest && ev.target.closest('[data-swap]');
    if (swap) {
      const group = radios(swap.getAttribute('data-swap'));
      const other = group.find((r) => !r.checked);
      if (other) other.checked = true;
      follow();
      return;
    }
    const flip = ev.target.closest && ev.target.closest('[data-flip]');
    if (flip) {
      const group = radios('keep.' + flip.getAttribute('data-flip'));
      const other = group.find((r) => !r.checked);
      if (!other) return;
      other.checked = true;
      for (const r of group) r.dataset.touched = '1';
    }
  });
  document.addEventListener('change', (ev) => {
    const t = ev.target;
    if (t.name === 'survivor') follow();
    else if (t.name && t.name.startsWith('keep.')) for (const r of radios(t.name)) r.dataset.touched = '1';
    const all = t.getAttribute && t.getAttribute('data-select-all');
    if (all && t.form) {
      for (const box of t.form.querySelectorAll(`input[type=checkbox][name="${CSS.escape(all)}"]`)) box.checked = t.checked;
    }
  });
})();
