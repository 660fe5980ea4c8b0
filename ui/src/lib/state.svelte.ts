// App-wide state: where the worker is, the device status, and the
// inactivity lock.

import type { AppStatus } from './api';

export type Route =
  | { name: 'home' }
  | { name: 'households'; ward?: number }
  | { name: 'household'; id: string }
  | { name: 'resident'; id?: string; householdId?: string; ward?: string }
  | { name: 'card'; id?: string }
  | { name: 'sync' }
  | { name: 'verify' };

export const app = $state<{
  status: AppStatus | null;
  route: Route;
  lockedByIdle: boolean;
  flash: string;
}>({ status: null, route: { name: 'home' }, lockedByIdle: false, flash: '' });

export function go(route: Route) {
  app.route = route;
  app.flash = '';
  if (typeof window !== 'undefined' && !/jsdom/.test(navigator.userAgent)) window.scrollTo(0, 0);
}

/** Locks after `limitMs` without a touch or key; `onIdle` is called once. */
export class IdleLock {
  last: number;
  constructor(
    public limitMs: number,
    private onIdle: () => void,
    private now: () => number = () => Date.now(),
  ) {
    this.last = now();
  }
  touch() {
    this.last = this.now();
  }
  /** Call periodically; returns whether it locked. */
  check(): boolean {
    if (this.now() - this.last >= this.limitMs) {
      this.last = this.now();
      this.onIdle();
      return true;
    }
    return false;
  }
}

/** Calls `save` once typing pauses for `ms` (drafts). */
export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const d = (...a: A) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => fn(...a), ms);
  };
  d.flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return d;
}
