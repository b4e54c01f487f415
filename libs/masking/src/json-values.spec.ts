import { describe, expect, it } from 'vitest';
import { JsonValueMasker } from './json-values.js';
import { Masker } from './masker.js';

const masker = new Masker(
  { entities: (['email', 'card', 'ssn', 'phone'] as const).map((entity) => ({ entity, style: 'full' as const })), columns: [] },
  { key: 'k'.repeat(32) },
);
const json = new JsonValueMasker(masker);

describe('JsonValueMasker', () => {
  it('reads bare digits under a key that names them (ssn, tax id, phone), in strings and numbers', () => {
    expect(json.leaf('536221234', 'ssn')).toBe('*********');
    expect(json.leaf('536221234', 'customerTaxId')).toBe('*********');
    expect(json.leaf(536221234, 'social_security_number')).toBeNull();
    expect(json.leaf('14155550132', 'mobile_phone')).toBe('***********');
    // Without such a key the digits are an id.
    expect(json.leaf('536221234', 'order')).toBe('536221234');
    expect(json.leaf(536221234, 'id')).toBe(536221234);
    expect(json.leaf(536221234)).toBe(536221234);
  });

  it('turns a number that is a card into null under any key; other numbers, booleans and null stay', () => {
    expect(json.leaf(4111111111111111, 'n')).toBeNull();
    expect(json.leaf(4111111111111112, 'n')).toBe(4111111111111112);
    expect(json.leaf(1733443200000, 'ts')).toBe(1733443200000);
    expect(json.leaf(0.5, 'ratio')).toBe(0.5);
    expect(json.leaf(true, 'ssn')).toBe(true);
    expect(json.leaf(null, 'ssn')).toBeNull();
  });

  it('masks keys, and keeps two keys that mask alike apart', () => {
    expect(json.key('ada@example.com')).toBe('***@*******.***');
    expect(json.key('owner')).toBe('owner');
    const out: Record<string, unknown> = {};
    JsonValueMasker.assign(out, json.key('ada@example.com'), 1);
    JsonValueMasker.assign(out, json.key('bob@example.org'), 2);
    JsonValueMasker.assign(out, json.key('cat@example.net'), 3);
    expect(out).toEqual({ '***@*******.***': 1, '***@*******.***#2': 2, '***@*******.***#3': 3 });
  });
});
