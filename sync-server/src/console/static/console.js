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
