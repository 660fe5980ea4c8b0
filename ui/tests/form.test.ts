import { describe, expect, it } from 'vitest';
import { emptyForm, errorsByInput, fromRecord, isBlank, splitList, toRecord, yearFromAge } from '../src/lib/form';

const today = new Date('2026-11-28T10:00:00Z');

describe('resident form', () => {
  it('sends only what was filled in, with a Hindi name untouched', () => {
    const f = emptyForm('12');
    Object.assign(f, { given_name: ' Meena ', name_hi: 'मीना कुमारी', sex: 'female', age: '36', phone: '98111 22233' });
    const r = toRecord(f, today);
    expect(r).toEqual({
      given_name: 'Meena',
      name_hi: 'मीना कुमारी',
      sex: 'female',
      birth_year: 1990,
      phone: '98111 22233',
      address: { ward: 12 },
      consent: { share_clinical_on_card: false },
    });
  });

  it('takes age, year or date of birth as the worker chose', () => {
    const f = emptyForm('12');
    f.birth_mode = 'dob';
    f.date_of_birth = '1990-05-01';
    f.age = '50';
    expect(toRecord(f, today).date_of_birth).toBe('1990-05-01');
    expect(toRecord(f, today).birth_year).toBeUndefined();
    f.birth_mode = 'year';
    f.birth_year = '1985';
    expect(toRecord(f, today).birth_year).toBe(1985);
    expect(yearFromAge('0', today)).toBe(2026);
    expect(yearFromAge('abc', today)).toBeNull();
    expect(yearFromAge('200', today)).toBeNull();
    // a number input hands over a number
    expect(toRecord({ ...emptyForm(12 as unknown as string), age: 40 as unknown as string }, today)).toMatchObject({
      birth_year: 1986,
      address: { ward: 12 },
    });
  });

  it('passes a bad number through so the model names the field', () => {
    const f = emptyForm('ward twelve');
    expect((toRecord(f, today).address as Record<string, unknown>).ward).toBe('ward twelve');
  });

  it('splits lists on commas and keeps clinical fields and consent', () => {
    expect(splitList('Penicillin, dust ,, ')).toEqual(['Penicillin', 'dust']);
    const f = emptyForm('12');
    Object.assign(f, { allergies: 'Penicillin, Dust', consent: true, emergency_phone: '9811122233', blood_group: 'B+' });
    const r = toRecord(f, today);
    expect(r.allergies).toEqual(['Penicillin', 'Dust']);
    expect(r.consent).toEqual({ share_clinical_on_card: true });
    expect(r.emergency_contact).toEqual({ phone: '9811122233' });
    expect(r.blood_group).toBe('B+');
  });

  it('round-trips a stored record', () => {
    const stored = {
      id: '01900000-0000-7000-8000-000000000000', health_id: '0004 2000 0014', given_name: 'Asha',
      family_name: 'Devi', name_hi: 'आशा देवी', sex: 'female', birth_year: 1980, phone: '9811122233',
      address: { house: 'B-12', ward: 12, pincode: '110053' }, allergies: ['Dust'],
      consent: { share_clinical_on_card: true }, emergency_contact: { name: 'Ravi' },
    };
    const f = fromRecord(stored);
    expect(f.birth_mode).toBe('year');
    expect(f.ward).toBe('12');
    expect(f.allergies).toBe('Dust');
    const back = toRecord(f, today);
    expect(back.given_name).toBe('Asha');
    expect(back.birth_year).toBe(1980);
    expect(back.address).toEqual({ house: 'B-12', ward: 12, pincode: '110053' });
    expect(back.emergency_contact).toEqual({ name: 'Ravi' });
    expect(back.consent).toEqual({ share_clinical_on_card: true });
  });

  it('puts each field error under its input', () => {
    const errs = errorsByInput(
      [
        { field: 'address.ward', message: 'must be 1 to 250' },
        { field: 'birth_year', message: 'in the future' },
        { field: 'phone', message: 'must be 10 digits' },
        { field: 'phone', message: 'again' },
      ],
      'age',
    );
    expect(errs).toEqual({ ward: 'must be 1 to 250', age: 'in the future', phone: 'must be 10 digits; again' });
    expect(errorsByInput([{ field: 'birth_year', message: 'x' }], 'year')).toEqual({ birth_year: 'x' });
  });

  it('knows when nothing was typed (no draft needed)', () => {
    const base = emptyForm('12');
    const f = emptyForm('12');
    expect(isBlank(f, base)).toBe(true);
    f.given_name = 'M';
    expect(isBlank(f, base)).toBe(false);
  });
});
