import { afterEach, describe, expect, it, vi } from 'vitest';
import { IdleLock, app, debounce, go } from '../src/lib/state.svelte';

describe('app state', () => {
  afterEach(() => vi.useRealTimers());

  it('locks once after the idle limit, and a touch resets it', () => {
    let now = 0;
    let locks = 0;
    const idle = new IdleLock(1000, () => locks++, () => now);
    now = 900;
    expect(idle.check()).toBe(false);
    idle.touch();
    now = 1800;
    expect(idle.check()).toBe(false);
    now = 1900;
    expect(idle.check()).toBe(true);
    expect(idle.check()).toBe(false);
    expect(locks).toBe(1);
  });

  it('saves a draft once typing pauses', () => {
    vi.useFakeTimers();
    const saves: string[] = [];
    const save = debounce((s: string) => saves.push(s), 400);
    save('M');
    save('Me');
    save('Mee');
    vi.advanceTimersByTime(399);
    expect(saves).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(saves).toEqual(['Mee']);
    save('x');
    save.flush();
    vi.advanceTimersByTime(1000);
    expect(saves).toEqual(['Mee']);
  });

  it('navigates and clears the flash message', () => {
    app.flash = 'saved';
    go({ name: 'household', id: 'h1' });
    expect(app.route).toEqual({ name: 'household', id: 'h1' });
    expect(app.flash).toBe('');
  });
});
