import { Masker, type ColumnRef } from '@gw/masking';
import { BackendParser, dataRow, type FieldDescription } from '@gw/protocol-postgres';
import { describe, expect, it, vi } from 'vitest';
import { maskDataRow, maskFields, sampleRow, type MaskField } from './row-masking.js';

const TEXT = 25;
const VARCHAR = 1043;
const INT8 = 20;
const BYTEA = 17;
const JSONB = 3802;

const masker = new Masker(
  {
    entities: [
      { entity: 'email', style: 'full' },
      { entity: 'card', style: 'full' },
    ],
    columns: [
      { table: 'public.customers', column: 'ssn', style: 'full' },
      { table: '*', column: 'secret', style: 'null' },
    ],
  },
  { key: '0123456789abcdef0123' },
);

const text = (column?: ColumnRef): MaskField => ({ typeOid: TEXT, format: 0, column });
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Parses a DataRow frame back the way a client does (the parser checks every length field). */
function parseRow(frame: Buffer): (string | null)[] {
  const messages = new BackendParser().parseAll(frame);
  expect(messages).toHaveLength(1);
  const [row] = messages;
  if (row?.kind !== 'DataRow') throw new Error(`expected a DataRow, got ${row?.kind}`);
  return row.values.map((v) => (v === null ? null : v.toString('utf8')));
}

function parseRowRaw(frame: Buffer): (Buffer | null)[] {
  const [row] = new BackendParser().parseAll(frame);
  if (row?.kind !== 'DataRow') throw new Error('expected a DataRow');
  return [...row.values];
}

describe('DataRow codec round-trip', () => {
  it('parse(serialize(row)) gives the row back: empty, NULL, binary and multi-byte values', () => {
    const values = [utf8(''), null, Buffer.from([0, 1, 2, 255]), utf8('Zoë ✓ 😀'), utf8('x'.repeat(70_000))];
    // Compared as hex strings: a deep toEqual over 70 kB of Buffer is needlessly slow.
    const hex = (row: readonly (Buffer | null)[]): (string | null)[] => row.map((v) => v?.toString('hex') ?? null);
    expect(hex(parseRowRaw(dataRow(values)))).toEqual(hex(values));
  });
});

describe('maskDataRow', () => {
  it('returns undefined when nothing changes, so the original bytes are forwarded', () => {
    expect(maskDataRow([utf8('hello'), null, utf8('42')], [text(), text(), text()], masker)).toBeUndefined();
  });

  it('masks an e-mail in a text-format value and leaves the other columns byte-identical', () => {
    const frame = maskDataRow([utf8('7'), utf8('alice@example.com'), utf8('plain')], [text(), text(), text()], masker);
    expect(frame).toBeDefined();
    expect(parseRow(frame!)).toEqual(['7', '*****@*******.***', 'plain']);
  });

  it('masks binary-format text and varchar the same way (text types are UTF-8 in both formats)', () => {
    const fields: MaskField[] = [
      { typeOid: TEXT, format: 1, column: undefined },
      { typeOid: VARCHAR, format: 1, column: undefined },
    ];
    expect(parseRow(maskDataRow([utf8('a@b.com'), utf8('card 4111 1111 1111 1111')], fields, masker)!)).toEqual(['*@*.***', 'card **** **** **** ****']);
  });

  it('keeps the jsonb binary version byte and masks the JSON text after it', () => {
    const value = Buffer.concat([Buffer.from([1]), utf8('{"email": "x@y.org"}')]);
    const [out] = parseRowRaw(maskDataRow([value], [{ typeOid: JSONB, format: 1, column: undefined }], masker)!);
    expect(out?.[0]).toBe(1);
    expect(out?.subarray(1).toString('utf8')).toBe('{"email": "*@*.***"}');
  });

  it('treats jsonb in text format as plain text (no version byte added)', () => {
    expect(parseRow(maskDataRow([utf8('{"e": "x@y.org"}')], [{ typeOid: JSONB, format: 0, column: undefined }], masker)!)).toEqual(['{"e": "*@*.***"}']);
  });

  it('fails closed on a binary jsonb of an unknown version: the value is emptied, not passed through', () => {
    const value = Buffer.concat([Buffer.from([2]), utf8('{"email": "x@y.org"}')]);
    const [out] = parseRowRaw(maskDataRow([value], [{ typeOid: JSONB, format: 1, column: undefined }], masker)!);
    expect(out).toEqual(Buffer.alloc(0));
  });

  it('keeps SQL NULL as NULL (length -1), distinct from an empty string', () => {
    const frame = maskDataRow([null, utf8(''), utf8('a@b.com')], [text(), text(), text()], masker)!;
    expect(parseRowRaw(frame)).toEqual([null, Buffer.alloc(0), utf8('*@*.***')]);
    // The NULL is encoded as length -1 right after the column count.
    expect(frame.readInt32BE(7)).toBe(-1);
  });

  it('turns a value under a `null` column rule into SQL NULL', () => {
    const frame = maskDataRow([utf8('1'), utf8('s3cr3t')], [text({ column: 'id' }), text({ table: 'app.vault', column: 'secret' })], masker)!;
    expect(parseRowRaw(frame)).toEqual([utf8('1'), null]);
  });

  it('reads number values as numbers: a card becomes NULL, binary bytes are never read as text, a column rule applies', () => {
    const fields: MaskField[] = [
      { typeOid: INT8, format: 0, column: undefined },
      { typeOid: INT8, format: 1, column: undefined },
      { typeOid: INT8, format: 0, column: { table: 'public.customers', column: 'ssn' } },
      { typeOid: INT8, format: 0, column: undefined },
    ];
    const frame = maskDataRow([utf8('4111111111111111'), utf8('a@b.com!'), utf8('123456789'), utf8('4111111111111112')], fields, masker);
    expect(parseRow(frame!)).toEqual([null, 'a@b.com!', null, '4111111111111112']);
  });

  it('re-encodes lengths in bytes, not characters, around multi-byte UTF-8', () => {
    const values = [utf8('Zoë ✓ 😀 zoe@example.com'), utf8('日本語')];
    const frame = maskDataRow(values, [text(), text()], masker)!;
    expect(frame.readInt32BE(1)).toBe(frame.length - 1);
    const masked = 'Zoë ✓ 😀 ***@*******.***';
    expect(frame.readInt32BE(7)).toBe(Buffer.byteLength(masked, 'utf8'));
    expect(parseRow(frame)).toEqual([masked, '日本語']);
  });

  it('applies a table.column rule to that column only; the same name elsewhere is entity-scanned', () => {
    const fields = [text({ table: 'public.customers', column: 'ssn' }), text({ table: 'public.other', column: 'ssn' }), text({ column: 'ssn' })];
    const frame = maskDataRow([utf8('123-45-6789'), utf8('123-45-6789'), utf8('123-45-6789')], fields, masker)!;
    // Only the first value is under the rule; the masker here has no ssn entity, so the others stay.
    expect(parseRow(frame)).toEqual(['***-**-****', '123-45-6789', '123-45-6789']);
  });

  it('keeps a number that fails the Luhn check visible (not a card)', () => {
    expect(maskDataRow([utf8('order 4111111111111112')], [text()], masker)).toBeUndefined();
    expect(parseRow(maskDataRow([utf8('order 4111111111111111')], [text()], masker)!)).toEqual(['order ****************']);
  });

  it('masks a value beyond the described fields as text (fail closed)', () => {
    expect(parseRow(maskDataRow([utf8('1'), utf8('a@b.com')], [text()], masker)!)).toEqual(['1', '*@*.***']);
  });

  it('produces a frame that round-trips through the parser and dataRow unchanged', () => {
    const frame = maskDataRow([utf8('a@b.com'), null, utf8('ok')], [text(), text(), text()], masker)!;
    expect(dataRow(parseRowRaw(frame)).equals(frame)).toBe(true);
  });
});

describe('maskFields', () => {
  const field = (over: Partial<FieldDescription>): FieldDescription => ({ name: 'email', tableOid: 0, columnAttr: 0, typeOid: TEXT, typeSize: -1, typeModifier: -1, format: 0, ...over });

  it('resolves table columns through the catalog and keeps computed columns by their name only', () => {
    const resolve = vi.fn((oid: number, att: number, name: string): ColumnRef => ({ table: `public.t${oid}`, column: `${name}#${att}` }));
    const out = maskFields([field({ tableOid: 16384, columnAttr: 2, format: 1 }), field({ name: '?column?' })], resolve);
    expect(out).toEqual([
      { typeOid: TEXT, format: 1, column: { table: 'public.t16384', column: 'email#2' }, computed: false, hints: {} },
      { typeOid: TEXT, format: 0, column: { column: '?column?' }, computed: true, hints: {} },
    ]);
    expect(resolve).toHaveBeenCalledTimes(1);
  });
});

describe('sampleRow', () => {
  it('shows text, NULL, binary non-text as bounded hex, and binary jsonb without its version byte', () => {
    const fields: MaskField[] = [text(), text(), { typeOid: BYTEA, format: 1, column: undefined }, { typeOid: JSONB, format: 1, column: undefined }];
    const sample = sampleRow([utf8('a'), null, Buffer.alloc(100, 0xab), Buffer.concat([Buffer.from([1]), utf8('{}')])], fields);
    expect(sample).toEqual(['a', null, `\\x${'ab'.repeat(64)}`, '{}']);
    expect(sampleRow([utf8('y'.repeat(5000))], [text()])[0]).toHaveLength(1025);
  });
});
