import { describe, expect, it } from 'vitest';
import { mergeMasking, parseColumnMask, parseEntityMask, strongerStyle } from './masking.js';

describe('mask annotations', () => {
  it('parses entity rules with whitespace', () => {
    expect(parseEntityMask(' email:partial ,card:full,  cloud_key:hash')).toEqual({
      rules: [
        { entity: 'email', style: 'partial' },
        { entity: 'card', style: 'full' },
        { entity: 'cloud_key', style: 'hash' },
      ],
    });
  });

  it.each([
    ['email', /not a entity rule/],
    ['email:full,', /"" is not a entity rule/],
    ['email:full, email:hash', /listed twice/],
    ['name:full', /unknown mask entity "name"/],
    ['email:redact', /unknown mask style "redact"/],
  ])('refuses entity rules %j', (raw, message) => {
    const parsed = parseEntityMask(raw);
    expect('error' in parsed && parsed.error).toMatch(message);
  });

  it('parses column rules with schema, table and wildcard table', () => {
    expect(parseColumnMask('public.customers.email:hash, orders.card_no:full, *.phone:null')).toEqual({
      rules: [
        { table: 'public.customers', column: 'email', style: 'hash' },
        { table: 'orders', column: 'card_no', style: 'full' },
        { table: '*', column: 'phone', style: 'null' },
      ],
    });
  });

  it.each(['email:full', 'public.*.email:full', 't.e-mail:full', '*.*:full', 'a.b.c.d:full', 't."x":full'])(
    'refuses column reference %j',
    (raw) => {
      expect('error' in parseColumnMask(raw)).toBe(true);
    },
  );

  it('refuses more than 64 rules', () => {
    const raw = Array.from({ length: 65 }, (_, i) => `t.c${i}:full`).join(',');
    const parsed = parseColumnMask(raw);
    expect('error' in parsed && parsed.error).toMatch(/at most 64/);
  });
});

describe('mergeMasking', () => {
  it('orders styles partial < hash < full < null', () => {
    expect(strongerStyle('partial', 'hash')).toBe('hash');
    expect(strongerStyle('full', 'hash')).toBe('full');
    expect(strongerStyle('full', 'null')).toBe('null');
    expect(strongerStyle('partial', 'partial')).toBe('partial');
  });

  it('keeps the union and the strongest style per entity and column', () => {
    const merged = mergeMasking([
      { entities: [{ entity: 'email', style: 'partial' }, { entity: 'ssn', style: 'full' }], columns: [{ table: '*', column: 'phone', style: 'hash' }] },
      { entities: [{ entity: 'email', style: 'hash' }], columns: [{ table: '*', column: 'phone', style: 'partial' }, { table: 't', column: 'phone', style: 'null' }] },
    ]);
    expect(merged.entities).toEqual([
      { entity: 'email', style: 'hash' },
      { entity: 'ssn', style: 'full' },
    ]);
    expect(merged.columns).toEqual([
      { table: '*', column: 'phone', style: 'hash' },
      { table: 't', column: 'phone', style: 'null' },
    ]);
  });
});
