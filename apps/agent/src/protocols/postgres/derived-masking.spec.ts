import { Masker } from '@gw/masking';
import { BackendParser, type FieldDescription } from '@gw/protocol-postgres';
import { classifySql, loadSqlParser } from '@gw/sql';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { maskDataRow, maskFields } from './row-masking.js';
import { combineVerdicts, decideStatement, principalFromGrant, type SessionPolicyContext } from './statement-policy.js';

const POLICY = `
@id("read")
@mask_columns("public.customers.ssn:full")
permit (principal, action in Gateway::Action::"sql:read", resource);
`;

const holder = new PolicyHolder(() => ({ version: 1, sha256: 'a', text: POLICY }), pino({ level: 'silent' }));
const ctx: SessionPolicyContext = {
  principal: principalFromGrant({ id: 'iss#a', kind: 'workload', issuer: 'iss', subject: 'a', roles: [], groups: [], gatewayRoles: ['requester'] } as never),
  resource: { name: 'crm', type: 'postgres' },
  dbRole: 'app',
  sourceIp: '10.0.0.5',
};
const derived = (sql: string) => combineVerdicts(classifySql(sql).map((s) => decideStatement(holder, ctx, s))).derivedStyle;

beforeAll(async () => {
  await loadSqlParser();
});

describe('values derived from a column under a column rule', () => {
  it.each([
    'SELECT reverse(ssn) FROM customers',
    'SELECT upper(c.SSN) AS x FROM public.customers c',
    "SELECT replace(ssn, '-', '')::bigint FROM customers",
    'SELECT row_to_json(c) FROM customers c',
    'SELECT to_jsonb(c.*) FROM customers AS c',
    'SELECT x FROM (SELECT ssn || $$!$$ AS x FROM customers) s',
    'WITH t AS (SELECT ssn AS s FROM customers) SELECT s FROM t',
    'SELECT 1; SELECT length(ssn) FROM customers',
  ])('%s: computed results take the rule style', (sql) => {
    expect(derived(sql)).toBe('full');
  });

  it.each(['SELECT name, count(*) FROM customers GROUP BY name', 'SELECT reverse(ssn) FROM orders', 'SELECT 1'])(
    '%s: nothing derived from the ruled column',
    (sql) => {
      expect(derived(sql)).toBeUndefined();
    },
  );

  it('a session deciding a plain read first still masks a later derived value of the same shape (verdicts are remembered per shape)', () => {
    expect(derived('SELECT name FROM customers')).toBeUndefined();
    expect(derived("SELECT ssn || name FROM customers")).toBe('full');
    expect(derived('SELECT name FROM customers')).toBeUndefined();
  });

  it('lists the columns a statement references (star and whole-row references as *)', () => {
    expect(classifySql('SELECT a.x, upper("Y") FROM t a WHERE z > 1')[0]?.columnsReferenced).toEqual(['x', 'y', 'z']);
    expect(classifySql('SELECT row_to_json(t) FROM t')[0]?.columnsReferenced).toEqual(['*', 't']);
    expect(classifySql('SELECT count(*) FROM t')[0]?.columnsReferenced).toEqual([]);
  });
});

describe('values computed from columns named for a masked entity', () => {
  const ENTITY_POLICY = `
@id("read")
@mask("email:partial, ssn:full")
permit (principal, action in Gateway::Action::"sql:read", resource);
`;
  const entityHolder = new PolicyHolder(() => ({ version: 1, sha256: 'b', text: ENTITY_POLICY }), pino({ level: 'silent' }));
  const verdictOf = (sql: string) => combineVerdicts(classifySql(sql).map((s) => decideStatement(entityHolder, ctx, s)));

  it.each([
    ["SELECT translate(ssn, '0123456789', 'abcdefghij') FROM customers", 'full'],
    ["SELECT split_part(email, '@', 1) FROM customers", 'full'],
    ["SELECT replace(customer_email, '@', '#'), substr(tax_id, 1, 3) FROM people", 'full'],
    ['SELECT x FROM (SELECT upper(email) AS x FROM customers) s', 'full'],
  ])('%s: computed results take the entity style (%s)', (sql, style) => {
    const verdict = verdictOf(sql);
    expect(verdict.entityDerivedStyle).toBe(style);
    expect(verdict.derivedStyle).toBeUndefined();
  });

  it.each([
    'SELECT email, ssn FROM customers',
    "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    'SELECT upper(name) FROM customers WHERE ssn IS NOT NULL',
    "SELECT replace(card, ' ', '') FROM customers",
  ])('%s: nothing computed from a column named for a masked entity', (sql) => {
    expect(verdictOf(sql).entityDerivedStyle).toBeUndefined();
  });

  it('masks computed text, arrays and JSON whole; computed numbers stay (they are checked as entities)', () => {
    const masker = new Masker({ entities: [{ entity: 'ssn', style: 'full' }], columns: [] }, { key: '0123456789abcdef0123' });
    const field = (over: Partial<FieldDescription>): FieldDescription => ({ name: 'x', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0, ...over });
    const fields = maskFields([field({}), field({ typeOid: 1009 }), field({ typeOid: 23 }), field({ typeOid: 20 })], () => undefined, undefined, undefined, ['ssn'], 'full');
    const out = maskDataRow([Buffer.from('fdg-cc-ieba'), Buffer.from('{536,22,8714}'), Buffer.from('536'), Buffer.from('536228714')], fields, masker);
    const [row] = new BackendParser().parseAll(out!);
    if (row?.kind !== 'DataRow') throw new Error('expected a DataRow');
    expect(row.values.map((v) => v?.toString('utf8') ?? null)).toEqual(['***-**-****', '{***,**,****}', '536', null]);
  });
});

describe('row masking of derived values', () => {
  const masker = new Masker({ entities: [], columns: [{ table: 'public.customers', column: 'ssn', style: 'full' }] }, { key: '0123456789abcdef0123' });
  const field = (over: Partial<FieldDescription>): FieldDescription => ({ name: 'x', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0, ...over });
  const values = (frame: Buffer | undefined) => {
    const [row] = new BackendParser().parseAll(frame!);
    if (row?.kind !== 'DataRow') throw new Error('expected a DataRow');
    return row.values.map((v) => v?.toString('utf8') ?? null);
  };

  it('masks computed text whole, turns computed numbers into NULL, leaves stored columns to their own rules', () => {
    const fields = maskFields([field({}), field({ typeOid: 20 }), field({ tableOid: 100, columnAttr: 2, name: 'name' })], () => ({ table: 'public.customers', column: 'name' }), 'full');
    const out = maskDataRow([Buffer.from('4178-22-635'), Buffer.from('536228714'), Buffer.from('Ada')], fields, masker);
    expect(values(out)).toEqual(['****-**-***', null, 'Ada']);
  });

  it('without a derived style the same computed values pass', () => {
    const fields = maskFields([field({}), field({ typeOid: 20 })], () => undefined);
    expect(maskDataRow([Buffer.from('4178-22-635'), Buffer.from('536228714')], fields, masker)).toBeUndefined();
  });
});
