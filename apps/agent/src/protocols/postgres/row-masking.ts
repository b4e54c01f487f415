import type { ColumnRef, Masker } from '@gw/masking';
import { dataRow, type FieldDescription } from '@gw/protocol-postgres';

/** Types whose values are text on the wire (in both formats): the ones masking looks into. */
export const TEXT_LIKE_TYPES: ReadonlySet<number> = new Set([
  25, // text
  1043, // varchar
  1042, // bpchar
  19, // name
  114, // json
  3802, // jsonb (binary: version byte 1, then the text)
  142, // xml
  705, // unknown
  18, // "char"
]);
const JSONB = 3802;

/**
 * Built-in scalar types whose text form is a number, time, identifier or encoding and never a quoted
 * string. Every other type in text format (arrays, records and composites, domains, enums, tsvector,
 * inet, extension types ...) can carry the strings it was built from — `ARRAY[email]`,
 * `(email, card)` — so it is scanned too; leaving these scalars alone keeps numbers parseable.
 */
const SCALAR_TYPES: ReadonlySet<number> = new Set([
  16, 17, 20, 21, 23, 24, 26, 27, 28, 29, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2202, 2203, 2204, 2205, 2206, 2950, 3220, 3734, 3769, 4089, 4096, 829, 774,
]);

/** A value masking cannot look into; the session ends rather than pass it unmasked. */
export class UnmaskableValueError extends Error {}

/** A result column as masking needs it: the wire description plus the resolved table/column names. */
export interface MaskField {
  typeOid: number;
  format: 0 | 1;
  column: ColumnRef | undefined;
}

export function maskFields(fields: readonly FieldDescription[], resolve: (tableOid: number, attnum: number, name: string) => ColumnRef | undefined): MaskField[] {
  return fields.map((f) => ({
    typeOid: f.typeOid,
    format: f.format,
    column: f.tableOid !== 0 && f.columnAttr > 0 ? resolve(f.tableOid, f.columnAttr, f.name) : { column: f.name },
  }));
}

function maskOne(value: Buffer, field: MaskField, masker: Masker): Buffer | null | undefined {
  if (!TEXT_LIKE_TYPES.has(field.typeOid)) {
    if (SCALAR_TYPES.has(field.typeOid)) return undefined;
    // Binary arrays, records, enums ... are not decoded here: their strings would pass unmasked, so
    // fail closed (text format, what clients use by default, is scanned above).
    if (field.format !== 0) throw new UnmaskableValueError(`a binary-format value of type oid ${field.typeOid} cannot be masked; request text format for it`);
  }
  const binaryJsonb = field.typeOid === JSONB && field.format === 1;
  if (binaryJsonb && value[0] !== 1) return Buffer.alloc(0); // unknown jsonb version: fail closed (empty)
  const text = (binaryJsonb ? value.subarray(1) : value).toString('utf8');
  const masked = masker.maskValue(text, field.column);
  if (masked === null) return null;
  if (masked === text) return undefined;
  const body = Buffer.from(masked, 'utf8');
  return binaryJsonb ? Buffer.concat([Buffer.from([1]), body]) : body;
}

/**
 * Masks one DataRow. Returns the re-encoded message, or undefined when no value changed (forward
 * the original bytes). Built-in scalar (number/time) values are never touched; a `null` style becomes SQL NULL.
 * A row with more values than described fields is masked as text where a field is missing.
 */
export function maskDataRow(values: readonly (Buffer | null)[], fields: readonly MaskField[], masker: Masker): Buffer | undefined {
  let out: (Buffer | null)[] | undefined;
  values.forEach((value, i) => {
    if (value === null) return;
    const field = fields[i] ?? { typeOid: 25, format: 0, column: undefined };
    const masked = maskOne(value, field, masker);
    if (masked === undefined) return;
    out ??= values.slice();
    out[i] = masked;
  });
  return out ? dataRow(out) : undefined;
}

/** Decodes a row for the recording sample, as the client sees it. */
export function sampleRow(values: readonly (Buffer | null)[], fields: readonly MaskField[]): (string | null)[] {
  return values.map((value, i) => {
    if (value === null) return null;
    const field = fields[i];
    if (field && field.format === 1 && !TEXT_LIKE_TYPES.has(field.typeOid)) return `\\x${value.subarray(0, 64).toString('hex')}`;
    const text = field?.typeOid === JSONB && field.format === 1 ? value.subarray(1).toString('utf8') : value.toString('utf8');
    return text.length > 1024 ? `${text.slice(0, 1024)}…` : text;
  });
}
