import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import Resident from '../src/screens/Resident.svelte';
import { app } from '../src/lib/state.svelte';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(f: () => unknown, ms = 2000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return;
    await sleep(20);
  }
  throw new Error('timed out');
}

function type(root: HTMLElement, id: string, value: string) {
  const el = root.querySelector<HTMLInputElement>(`#${id}`)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new FocusEvent('focusout', { bubbles: true }));
  flushSync();
}

describe('the enroll form', () => {
  let component: ReturnType<typeof mount> | undefined;
  afterEach(() => {
    if (component) unmount(component);
    clearMocks();
    document.body.innerHTML = '';
  });

  it('shows the model’s messages inline, keeps a draft, and warns of duplicates before saving', async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const rec = a.record as Record<string, unknown> | undefined;
      switch (cmd) {
        case 'load_draft':
          return null;
        case 'validate':
          return rec?.phone === '12345'
            ? [{ field: 'phone', code: 'phone', message: '6-9 से शुरू होने वाले 10 अंक होने चाहिए' }]
            : [];
        case 'check_duplicates':
          return [
            {
              id: 'd1', health_id: '0004 2000 0014', given_name: 'Meena', family_name: 'Kumari', name_hi: 'मीना कुमारी',
              sex: 'female', date_of_birth: null, birth_year: 1990, phone: '9811122233', voter_id: null, ward: 12,
              relative_name: null, status: null, score: 0.93, reasons: [{ code: 'same_phone', detail: 'same phone' }],
            },
          ];
        case 'enroll':
          return { id: 'n1', health_id: '0004 2000 0022', record: rec };
        default:
          return null;
      }
    });
    app.status = {
      provisioned: true, unlocked: true, device_label: 't', device_number: '00004', wards: [12], server_url: null,
      data_dir: '/tmp',
    };
    const target = document.createElement('div');
    document.body.appendChild(target);
    component = mount(Resident, { target, props: {} });
    await until(() => calls.some((c) => c.cmd === 'load_draft'));
    await sleep(30);

    type(target, 'given_name', 'Meena');
    type(target, 'name_hi', 'मीना कुमारी');
    type(target, 'phone', '12345');
    await until(() => target.querySelector('[data-testid="err-phone"]'));
    expect(target.querySelector('[data-testid="err-phone"]')!.textContent).toContain('10 अंक');
    expect(target.querySelector('#phone')!.getAttribute('aria-invalid')).toBe('true');

    // The draft is kept as the worker types.
    await until(() => calls.some((c) => c.cmd === 'save_draft'));
    const draft = JSON.parse(String(calls.filter((c) => c.cmd === 'save_draft').at(-1)!.args.json));
    expect(draft.form.name_hi).toBe('मीना कुमारी');

    type(target, 'phone', '9811122233');
    target.querySelector<HTMLInputElement>('[data-testid="sex-female"]')!.click();
    type(target, 'age', '36');
    target.querySelector<HTMLButtonElement>('[data-testid="save"]')!.click();
    await until(() => target.querySelector('[data-testid="duplicate-candidate"]'));
    expect(target.textContent).toContain('same phone');
    expect(calls.some((c) => c.cmd === 'enroll')).toBe(false);

    target.querySelector<HTMLButtonElement>('[data-testid="save-anyway"]')!.click();
    await until(() => target.querySelector('[data-testid="saved"]'));
    const enroll = calls.find((c) => c.cmd === 'enroll')!;
    expect(enroll.args.notDuplicateOf).toEqual(['d1']);
    expect((enroll.args.record as Record<string, unknown>).name_hi).toBe('मीना कुमारी');
    expect(target.textContent).toContain('0004 2000 0022');
    expect(calls.some((c) => c.cmd === 'clear_draft')).toBe(true);
  });
});
