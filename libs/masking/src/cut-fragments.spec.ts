import { describe, expect, it } from 'vitest';
import { maskCutFragments } from './cut-fragments.js';
import { Masker } from './masker.js';
import type { MaskEntity } from './types.js';

const ALL = new Set<MaskEntity>(['email', 'card', 'ssn', 'phone', 'iban']);

describe('maskCutFragments: the remains of an entity where a server cut a quoted value short', () => {
  it('masks the digits of a run that ends at the cut, whatever separates them', () => {
    expect(maskCutFragments('Failing row contains (1, aaaa 4111 1111 111..., null).', ALL)).toBe('Failing row contains (1, aaaa **** **** ***..., null).');
    expect(maskCutFragments('Failing row contains (1, aaaa4111111111111..., null).', ALL)).toBe('Failing row contains (1, aaaa*************..., null).');
    expect(maskCutFragments("Duplicate entry 'zz+44 20 79...' for key 'k'", ALL)).toBe("Duplicate entry 'zz+** ** **...' for key 'k'");
    expect(maskCutFragments('Key (ssn)=(536-22-87...) already exists.', ALL)).toBe('Key (ssn)=(***-**-**...) already exists.');
    expect(maskCutFragments('(1, DE8937040044053201...)', ALL)).toBe('(1, DE****************...)');
  });

  it('masks the word with an @ that ends at the cut', () => {
    expect(maskCutFragments('(1, notes of ada.lovelace@examp..., null)', ALL)).toBe('(1, notes of ***.********@*****..., null)');
    expect(maskCutFragments('(1, <ada@ex...)', new Set<MaskEntity>(['email']))).toBe('(1, <***@**...)');
  });

  it('leaves prose, short numbers, values that were not cut and entities the rules do not name', () => {
    for (const text of ['waiting... please retry...', 'version 1.2.3...', '...leading', 'Failing row contains (12345, short, null).', 'a .... b', 'ends with a space ...']) {
      expect(maskCutFragments(text, ALL)).toBe(text);
    }
    expect(maskCutFragments('(1, aaaa 4111 1111 111...)', new Set<MaskEntity>(['email']))).toBe('(1, aaaa 4111 1111 111...)');
    expect(maskCutFragments('(1, ada@examp...)', new Set<MaskEntity>(['card']))).toBe('(1, ada@examp...)');
  });

  it('handles every cut of a message, and only the tail of each value', () => {
    expect(maskCutFragments('(1, keep 4111 1111 111..., bob@exa..., 7)', ALL)).toBe('(1, keep **** **** ***..., ***@***..., 7)');
  });

  it('Masker.maskMessage: recognized entities as before, and the cut remains', () => {
    const masker = new Masker({ entities: [{ entity: 'card', style: 'full' }, { entity: 'email', style: 'partial' }], columns: [] }, { key: Buffer.alloc(32, 7) });
    expect(masker.maskMessage('Key (email)=(ada@example.com) exists; (1, xx 4111 1111 111...)')).toBe('Key (email)=(a**@example.com) exists; (1, xx **** **** ***...)');
    const none = new Masker({ entities: [], columns: [] }, { key: Buffer.alloc(32, 7) });
    expect(none.maskMessage('(1, xx 4111 1111 111...)')).toBe('(1, xx 4111 1111 111...)');
  });
});
