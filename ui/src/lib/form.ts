// The resident form: what the worker types (all strings and booleans) and
// record format v1 JSON, both ways. Validation itself is the Rust model's
// (the `validate` command), so its messages match the CLI's in both languages.

export type BirthMode = 'dob' | 'year' | 'age';

export interface ResidentForm {
  given_name: string;
  family_name: string;
  name_hi: string;
  sex: string;
  birth_mode: BirthMode;
  date_of_birth: string;
  birth_year: string;
  age: string;
  phone: string;
  voter_id: string;
  house: string;
  street: string;
  locality: string;
  ward: string;
  pincode: string;
  blood_group: string;
  allergies: string;
  chronic_conditions: string;
  disabilities: string;
  pregnant: boolean;
  relation_to_head: string;
  relative_name: string;
  relation_type: string;
  marital_status: string;
  occupation: string;
  emergency_name: string;
  emergency_phone: string;
  consent: boolean;
  notes: string;
  household_id: string;
}

export const SEXES = ['female', 'male', 'other'] as const;
export const BLOOD_GROUPS = ['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-', 'unknown'] as const;
export const RELATIONS = [
  'self', 'spouse', 'son', 'daughter', 'father', 'mother', 'brother', 'sister', 'grandchild', 'grandparent',
  'son_in_law', 'daughter_in_law', 'other_relative', 'unrelated',
] as const;
export const MARITAL = ['never_married', 'married', 'widowed', 'separated', 'divorced'] as const;

export function emptyForm(ward = ''): ResidentForm {
  return {
    given_name: '', family_name: '', name_hi: '', sex: '', birth_mode: 'age', date_of_birth: '', birth_year: '',
    age: '', phone: '', voter_id: '', house: '', street: '', locality: '', ward, pincode: '', blood_group: '',
    allergies: '', chronic_conditions: '', disabilities: '', pregnant: false, relation_to_head: '',
    relative_name: '', relation_type: '', marital_status: '', occupation: '', emergency_name: '',
    emergency_phone: '', consent: false, notes: '', household_id: '',
  };
}

export function splitList(s: string): string[] {
  return s.split(/[,،\n]/).map((x) => x.trim()).filter((x) => x.length > 0);
}

/** The year of birth an age in years gives (`today` for tests). */
export function yearFromAge(age: string | number, today: Date = new Date()): number | null {
  const text = String(age ?? '').trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0 || n > 130) return null;
  return today.getFullYear() - n;
}

/** Record format v1 JSON: only what was filled in. */
export function toRecord(form: ResidentForm, today: Date = new Date()): Record<string, unknown> {
  // Inputs may hand over numbers: treat every value as the text typed.
  const f = Object.fromEntries(
    Object.entries(form).map(([k, v]) => [k, typeof v === 'boolean' ? v : String(v ?? '')]),
  ) as unknown as ResidentForm;
  const r: Record<string, unknown> = {};
  const put = (k: string, v: string) => {
    if (v.trim() !== '') r[k] = v.trim();
  };
  put('given_name', f.given_name);
  put('family_name', f.family_name);
  put('name_hi', f.name_hi);
  put('sex', f.sex);
  if (f.birth_mode === 'dob') put('date_of_birth', f.date_of_birth);
  if (f.birth_mode === 'year' && f.birth_year.trim() !== '') {
    const y = Number(f.birth_year.trim());
    r.birth_year = Number.isInteger(y) ? y : f.birth_year.trim();
  }
  if (f.birth_mode === 'age' && f.age.trim() !== '') {
    r.birth_year = yearFromAge(f.age, today) ?? f.age.trim();
  }
  put('phone', f.phone);
  put('voter_id', f.voter_id);
  const address: Record<string, unknown> = {};
  for (const k of ['house', 'street', 'locality', 'pincode'] as const) {
    if (f[k].trim() !== '') address[k] = f[k].trim();
  }
  if (f.ward.trim() !== '') {
    const w = Number(f.ward.trim());
    address.ward = Number.isInteger(w) ? w : f.ward.trim();
  }
  r.address = address;
  put('blood_group', f.blood_group);
  for (const k of ['allergies', 'chronic_conditions', 'disabilities'] as const) {
    const items = splitList(f[k]);
    if (items.length) r[k] = items;
  }
  if (f.pregnant) r.pregnant = true;
  put('relation_to_head', f.relation_to_head);
  put('relative_name', f.relative_name);
  put('relation_type', f.relation_type);
  put('marital_status', f.marital_status);
  put('occupation', f.occupation);
  if (f.emergency_name.trim() || f.emergency_phone.trim()) {
    const ec: Record<string, string> = {};
    if (f.emergency_name.trim()) ec.name = f.emergency_name.trim();
    if (f.emergency_phone.trim()) ec.phone = f.emergency_phone.trim();
    r.emergency_contact = ec;
  }
  r.consent = { share_clinical_on_card: f.consent };
  put('notes', f.notes);
  put('household_id', f.household_id);
  return r;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** A stored record (record format v1 JSON) as the form shows it. */
export function fromRecord(r: Record<string, unknown>): ResidentForm {
  const a = (r.address ?? {}) as Record<string, unknown>;
  const ec = (r.emergency_contact ?? {}) as Record<string, unknown>;
  const consent = (r.consent ?? {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');
  const f = emptyForm(str(a.ward));
  Object.assign(f, {
    given_name: str(r.given_name), family_name: str(r.family_name), name_hi: str(r.name_hi), sex: str(r.sex),
    date_of_birth: str(r.date_of_birth), birth_year: str(r.birth_year),
    birth_mode: r.date_of_birth ? 'dob' : 'year',
    phone: str(r.phone), voter_id: str(r.voter_id), house: str(a.house), street: str(a.street),
    locality: str(a.locality), pincode: str(a.pincode), blood_group: str(r.blood_group),
    allergies: list(r.allergies), chronic_conditions: list(r.chronic_conditions), disabilities: list(r.disabilities),
    pregnant: r.pregnant === true, relation_to_head: str(r.relation_to_head), relative_name: str(r.relative_name),
    relation_type: str(r.relation_type), marital_status: str(r.marital_status), occupation: str(r.occupation),
    emergency_name: str(ec.name), emergency_phone: str(ec.phone), consent: consent.share_clinical_on_card === true,
    notes: str(r.notes), household_id: str(r.household_id),
  });
  return f;
}

/** Which form input shows the error for a record field path. */
export function inputFor(path: string, mode: BirthMode): string {
  const map: Record<string, string> = {
    'address.house': 'house', 'address.street': 'street', 'address.locality': 'locality', 'address.ward': 'ward',
    'address.pincode': 'pincode', 'emergency_contact.name': 'emergency_name',
    'emergency_contact.phone': 'emergency_phone', 'consent.share_clinical_on_card': 'consent',
  };
  if (path === 'birth_year' && mode === 'age') return 'age';
  return map[path] ?? path;
}

/** Field errors by form input. */
export function errorsByInput(
  errors: { field: string; message: string }[],
  mode: BirthMode,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const k = inputFor(e.field, mode);
    out[k] = out[k] ? `${out[k]}; ${e.message}` : e.message;
  }
  return out;
}

/** Whether the worker has typed anything worth keeping as a draft. */
export function isBlank(f: ResidentForm, base: ResidentForm): boolean {
  return JSON.stringify(f) === JSON.stringify(base);
}
