import { afterEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { AppErr, api } from '../src/lib/api';

describe('commands', () => {
  afterEach(() => clearMocks());

  it('passes arguments in camelCase as Tauri expects', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'enroll') return { id: 'r1', health_id: '0001 0000 0012', record: {} };
      return null;
    });
    const saved = await api.enroll({ given_name: 'Meena' }, ['d1']);
    expect(saved.health_id).toBe('0001 0000 0012');
    expect(calls[0][0]).toBe('enroll');
    expect(calls[0][1]).toMatchObject({ record: { given_name: 'Meena' }, notDuplicateOf: ['d1'] });
  });

  it('turns a refused command into an error with a code and its details', async () => {
    mockIPC(() => {
      throw {
        code: 'likely_duplicate',
        message: 'this resident may already be enrolled',
        fields: [],
        duplicates: [{ id: 'd1', given_name: 'Meena', score: 0.9, reasons: [] }],
      };
    });
    const err = await api.enroll({}, []).catch((e) => e);
    expect(err).toBeInstanceOf(AppErr);
    expect(err.code).toBe('likely_duplicate');
    expect(err.duplicates[0].id).toBe('d1');
  });
});
