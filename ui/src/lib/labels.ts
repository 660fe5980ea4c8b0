import { inputFor } from './form';
import { en, t, type Key } from './i18n.svelte';

/** A record field path as the form labels it, in the current language (`occupation` -> "Occupation"). */
export function fieldLabel(path: string): string {
  const key = `form.${inputFor(path, 'year')}`;
  return key in en ? t(key as Key) : path;
}
