import { describe, expect, it } from 'vitest';
import { en, fill, hi, i18n, t, translate, type Key } from '../src/lib/i18n.svelte';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('English and Hindi', () => {
  it('has every English text in Hindi, with the same placeholders', () => {
    for (const key of Object.keys(en) as Key[]) {
      expect(hi[key], key).toBeTruthy();
      expect(placeholders(hi[key]), key).toEqual(placeholders(en[key]));
    }
    expect(Object.keys(hi).sort()).toEqual(Object.keys(en).sort());
  });

  it('writes Hindi texts in Devanagari', () => {
    const latinOnly = (Object.keys(hi) as Key[]).filter(
      (k) => !/[\u0900-\u097F]/.test(hi[k]) && !['app.lang_toggle'].includes(k),
    );
    expect(latinOnly).toEqual([]);
  });

  it('switches language at once', () => {
    i18n.lang = 'en';
    expect(t('nav.home')).toBe('Home');
    i18n.lang = 'hi';
    expect(t('nav.home')).toBe('होम');
    i18n.lang = 'en';
  });

  it('fills placeholders', () => {
    expect(fill('{a} of {b}', { a: 1, b: 2 })).toBe('1 of 2');
    expect(translate('hi', 'hh.members', { n: 4 })).toBe('4 सदस्य');
  });
});

describe('field labels', () => {
  it('names a record field as the form does, in either language', async () => {
    const { fieldLabel } = await import('../src/lib/labels');
    i18n.lang = 'en';
    expect(fieldLabel('occupation')).toBe('Occupation');
    expect(fieldLabel('address.ward')).toBe('Ward');
    expect(fieldLabel('roll_part')).toBe('roll_part');
    i18n.lang = 'hi';
    expect(fieldLabel('emergency_contact.phone')).toBe('आपातकालीन संपर्क का फ़ोन');
    i18n.lang = 'en';
  });
});
