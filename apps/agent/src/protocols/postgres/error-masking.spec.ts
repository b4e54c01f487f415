import { Masker } from '@gw/masking';
import { describe, expect, it } from 'vitest';
import { maskNoticeFields } from './error-masking.js';

const masker = new Masker({ entities: [], columns: [{ table: 'public.customers', column: 'name', style: 'full' }] }, { key: '0123456789abcdef0123' });

describe('maskNoticeFields under a column rule (quotedValues)', () => {
  it('masks a value Postgres puts after a colon, and details and contexts that echo the input', () => {
    expect(maskNoticeFields({ message: 'operator does not exist: Ada_Lovelace' }, masker, true)).toEqual({ message: 'operator does not exist: ***_********' });
    expect(maskNoticeFields({ message: 'invalid XML content', detail: 'line 1: Opening and ending tag mismatch\n<a>Ada Lovelace</b>\n^' }, masker, true)?.detail).not.toMatch(/Ada|Lovelace/);
    expect(maskNoticeFields({ message: 'invalid input syntax for type json', where: 'JSON data, line 1: [Ada...' }, masker, true)?.where).toBe('**** ****, **** *: [***...');
    expect(maskNoticeFields({ message: 'x', unknown: [{ code: 'Z', value: 'Ada' }] }, masker, true)?.unknown).toEqual([{ code: 'Z', value: '***' }]);
  });

  it('leaves a message without a colon, and every field of a statement that reads no ruled column, as they are', () => {
    expect(maskNoticeFields({ message: 'invalid XML content' }, masker, true)).toBeUndefined();
    expect(maskNoticeFields({ message: 'operator does not exist: book', detail: '<a>book</b>', where: 'JSON data, line 1: [book...' }, masker, false)).toBeUndefined();
  });
});
