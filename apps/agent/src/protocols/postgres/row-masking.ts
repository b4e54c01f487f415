import { derivedValueStyle, hintsFromNames, NO_HINTS, strongestStyle, type ColumnRef, type Masker, type MaskStyle, type ValueHints } from '@gw/masking';
import { dataRow, type FieldDescription } from '@gw/protocol-postgres';
import { decodeArray, decodeRecord, encodeArray, encodeRecord } from './binary-containers.js';
import { nullInvalidJsonScalars } from './json-scalars.js';
import { maskNumberArrayText, NUMBER_ARRAY_ELEMENT, NUMBER_TYPES, numberHoldsEntity, numberText, UnreadableNumberError } from './numeric-values.js';

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
const JSON_TYPE = 114;
const BYTEA = 17;

/**
 * Built-in scalar types whose text form is a number, time, identifier or encoding and never a quoted
 * string. Every other type in text format (arrays, records and composites, domains, enums, tsvector,
 * inet, extension types ...) can carry the strings it was built from — `ARRAY[email]`,
 * `(email, card)` — so it is scanned too; leaving these scalars alone keeps numbers parseable.
 */
const SCALAR_TYPES: ReadonlySet<number> = new Set([
  16, 20, 21, 23, 24, 26, 27, 28, 29, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2202, 2203, 2204, 2205, 2206, 2950, 3220, 3734, 3769, 4089, 4096, 829, 774,
]);

/** Arrays inside records inside arrays ...: deeper than this is refused rather than recursed into. */
const MAX_NESTING = 16;

/** A value masking cannot look into; the session ends rather than pass it unmasked. */
export class UnmaskableValueError extends Error {}

/** A result column as masking needs it: the wire description plus the resolved table/column names. */
export interface MaskField {
  typeOid: number;
  format: 0 | 1;
  column: ColumnRef | undefined;
  /** An expression's result (no source column): also read backwards, see Masker.maskValue. */
  computed?: boolean;
  /** For a computed field: masked as a whole in this style, being derived from a ruled column. */
  derivedStyle?: MaskStyle;
  /**
   * What the field's names say it holds (its name, its source column; for a computed field also the
   * columns the statement references: `replace(ssn,'-','')::int` is named `replace`): bare digits in it
   * count as an SSN or phone number.
   */
  hints?: ValueHints;
}

/** A RowDescription field's source column; `view` and `derivedFrom` when it was resolved through a view. */
export interface SourceColumn extends ColumnRef {
  readonly view?: ColumnRef;
  readonly derivedFrom?: readonly ColumnRef[];
}

/**
 * `derivedStyle` (see StatementVerdict) applies to the computed fields: a value computed from a
 * masked column is masked whole, and a number or date computed from one (`length(ssn)`,
 * `replace(ssn, '-', '')::bigint`) becomes NULL, since it cannot be masked in place.
 *
 * A view column is masked by the rules of the table column it passes through (or, when no rule names
 * that column, by the rules on the view's own column); a view column computed from ruled table
 * columns is masked whole in the strongest of their styles, like a computed field. `styleOf` gives
 * the strongest style of the column rules that match any of the given columns.
 */
export function maskFields(
  fields: readonly FieldDescription[],
  resolve: (tableOid: number, attnum: number, name: string) => SourceColumn | undefined,
  derivedStyle?: MaskStyle,
  styleOf: (columns: readonly ColumnRef[]) => MaskStyle | undefined = () => undefined,
  referencedColumns: readonly string[] = [],
  /** See StatementVerdict.entityDerivedStyle: for computed fields that are not scalars (numbers, times ...). */
  entityDerivedStyle?: MaskStyle,
): MaskField[] {
  return fields.map((f) => {
    const stored = f.tableOid !== 0 && f.columnAttr > 0;
    if (!stored) {
      const hints = hintsFromNames([f.name, ...referencedColumns]);
      // Numbers (and arrays of them) stay readable: they are checked as entities themselves (maskScalar, maskNumberArray).
      const number = SCALAR_TYPES.has(f.typeOid) || NUMBER_ARRAY_ELEMENT[f.typeOid] !== undefined;
      const style = number ? derivedStyle : strongestStyle([derivedStyle, entityDerivedStyle].filter((x): x is MaskStyle => x !== undefined));
      return { typeOid: f.typeOid, format: f.format, column: { column: f.name }, computed: true, hints, ...(style ? { derivedStyle: style } : {}) };
    }
    const source = resolve(f.tableOid, f.columnAttr, f.name);
    const hints = hintsFromNames([f.name, source?.column, source?.view?.column]);
    const field: MaskField = { typeOid: f.typeOid, format: f.format, column: source, computed: false, hints };
    if (!source?.view) return field;
    const own = { ...(source.view.table === undefined ? {} : { table: source.view.table }), column: source.view.column };
    if (source.derivedFrom === undefined) return styleOf([source]) ? field : { ...field, column: own };
    const style = derivedValueStyle(styleOf([...source.derivedFrom, own]));
    return style ? { ...field, column: own, derivedStyle: style } : { ...field, column: own };
  });
}

type Masked = Buffer | null | undefined;

/** Masks one value as text; undefined = unchanged, null = SQL NULL (a `null` column rule). */
function maskString(text: string, field: MaskField, masker: Masker): string | null | undefined {
  const masked = field.derivedStyle
    ? maskDerived(text, field, field.derivedStyle, masker)
    : masker.maskValue(text, field.column, field.computed === true, field.hints ?? NO_HINTS);
  return masked === text ? undefined : masked;
}

/**
 * A whole value derived from a ruled column, in the rule's style. JSON keeps its shape (keys kept,
 * every string masked, every number/boolean NULL), so `row_to_json(c)` still parses.
 */
function maskDerived(text: string, field: MaskField, style: MaskStyle, masker: Masker): string | null {
  if (field.typeOid !== JSON_TYPE && field.typeOid !== JSONB) return masker.maskWithStyle(text, style);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return masker.maskWithStyle(text, style);
  }
  const leaf = (v: unknown): unknown => {
    if (typeof v === 'string') return masker.maskWithStyle(v, style);
    if (Array.isArray(v)) return v.map(leaf);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, leaf(inner)]));
    return null;
  };
  return JSON.stringify(leaf(value));
}

/** bytea: the bytes are scanned as Latin-1 text (one char per byte), so unmasked bytes stay exact. */
function maskBytes(bytes: Buffer, field: MaskField, masker: Masker): Buffer | null | undefined {
  const masked = maskString(bytes.toString('latin1'), field, masker);
  return masked == null ? masked : Buffer.from(masked, 'latin1');
}

/** bytea in text format: `\x` hex (the default) or the old escape format; answered in hex. */
function maskByteaText(value: Buffer, field: MaskField, masker: Masker): Masked {
  const text = value.toString('latin1');
  const bytes = text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : decodeByteaEscape(text);
  const masked = maskBytes(bytes, field, masker);
  return masked == null ? masked : Buffer.from(`\\x${masked.toString('hex')}`, 'latin1');
}

function decodeByteaEscape(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out.push(text.charCodeAt(i) & 0xff);
    } else if (text[i + 1] === '\\') {
      out.push(0x5c);
      i += 1;
    } else {
      out.push(parseInt(text.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
    }
  }
  return Buffer.from(out);
}

function maskText(value: Buffer, field: MaskField, masker: Masker): Masked {
  const binaryJsonb = field.typeOid === JSONB && field.format === 1;
  if (binaryJsonb && value[0] !== 1) return Buffer.alloc(0); // unknown jsonb version: fail closed (empty)
  let masked = maskString((binaryJsonb ? value.subarray(1) : value).toString('utf8'), field, masker);
  if (masked == null) return masked;
  if ((field.typeOid === JSONB || field.typeOid === JSON_TYPE) && !field.derivedStyle) masked = nullInvalidJsonScalars(masked);
  const body = Buffer.from(masked, 'utf8');
  return binaryJsonb ? Buffer.concat([Buffer.from([1]), body]) : body;
}

/**
 * A binary value of a type masking has no codec for: arrays and records (any composite) are decoded
 * and their elements masked by their own types; anything else cannot be looked into and is refused.
 */
function maskBinaryContainer(value: Buffer, field: MaskField, masker: Masker, depth: number): Masked {
  if (depth > MAX_NESTING) throw new UnmaskableValueError('a binary value nested too deeply to mask');
  const array = decodeArray(value);
  if (array) {
    let changed = false;
    const elements = array.elements.map((element) => {
      if (element === null) return null;
      const masked = maskValue(element, { ...field, typeOid: array.elementType, format: 1 }, masker, depth + 1);
      if (masked === undefined) return element;
      changed = true;
      return masked;
    });
    if (!changed) return undefined;
    const header = Buffer.from(array.header);
    if (elements.includes(null)) header.writeInt32BE(1, 4); // the has-null flag
    return encodeArray({ ...array, header, elements });
  }
  const record = decodeRecord(value);
  if (record) {
    let changed = false;
    const columns = record.columns.map((column) => {
      if (column.value === null) return column;
      const masked = maskValue(column.value, { ...field, typeOid: column.typeOid, format: 1 }, masker, depth + 1);
      if (masked === undefined) return column;
      changed = true;
      return { typeOid: column.typeOid, value: masked };
    });
    return changed ? encodeRecord({ kind: 'record', columns }) : undefined;
  }
  throw new UnmaskableValueError(`a binary-format value of type oid ${field.typeOid} cannot be masked; request text format for it`);
}

/**
 * A number, time, uuid ... cannot hold `*`: derived from a ruled column, under a column rule of its own
 * (`ssn` stored as an integer, a `birth_date` rule) or holding an entity (see numeric-values.ts), it
 * becomes SQL NULL; otherwise it is left as it is.
 */
function maskScalar(value: Buffer, field: MaskField, masker: Masker): Masked {
  if (field.derivedStyle) return null;
  if (field.column && masker.columnStyle(field.column) !== undefined) return null;
  if (!NUMBER_TYPES.has(field.typeOid) || !masker.scansEntities) return undefined;
  try {
    return numberHoldsEntity(value, field.typeOid, field.format, field.hints ?? NO_HINTS, masker) ? null : undefined;
  } catch (error) {
    if (error instanceof UnreadableNumberError) throw new UnmaskableValueError(error.message);
    throw error;
  }
}

/** A number array in text format: an element holding an entity becomes NULL, so the array still parses. */
function maskNumberArray(value: Buffer, elementType: number, field: MaskField, masker: Masker): Masked {
  if (field.derivedStyle || (field.column && masker.columnStyle(field.column) !== undefined)) return maskText(value, field, masker);
  if (!masker.scansEntities) return undefined;
  const masked = maskNumberArrayText(value.toString('latin1'), elementType, field.hints ?? NO_HINTS, masker);
  return masked === undefined ? undefined : Buffer.from(masked, 'latin1');
}

function maskValue(value: Buffer, field: MaskField, masker: Masker, depth = 0): Masked {
  if (field.typeOid === BYTEA) return field.format === 1 ? maskBytes(value, field, masker) : maskByteaText(value, field, masker);
  if (TEXT_LIKE_TYPES.has(field.typeOid)) return maskText(value, field, masker);
  if (SCALAR_TYPES.has(field.typeOid)) return maskScalar(value, field, masker);
  const numberElement = NUMBER_ARRAY_ELEMENT[field.typeOid];
  if (numberElement !== undefined && field.format === 0) return maskNumberArray(value, numberElement, field, masker);
  // Text format of everything else (arrays, records, enums, domains ...) is scanned as text.
  if (field.format === 0) return maskText(value, field, masker);
  return maskBinaryContainer(value, field, masker, depth);
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
    const masked = maskValue(value, field, masker);
    if (masked === undefined) return;
    out ??= values.slice();
    out[i] = masked;
  });
  return out ? dataRow(out) : undefined;
}

const BOOL = 16;
const DATE = 1082;
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * A binary value of a common scalar type as Postgres prints it (ISO dates), for the recording: pgJDBC
 * sends integer parameters in binary and asks for numbers, dates and booleans in binary once a statement
 * is prepared on the server, and a reader of the recording should see `42`, not its four bytes.
 * Undefined for other types and for values that do not decode (the caller shows the bytes).
 */
export function binaryScalarText(value: Buffer, typeOid: number): string | undefined {
  if (NUMBER_TYPES.has(typeOid)) {
    try {
      return numberText(value, typeOid, 1);
    } catch (error) {
      if (error instanceof UnreadableNumberError) return undefined;
      throw error;
    }
  }
  if (typeOid === BOOL && value.length === 1) return value[0] ? 't' : 'f';
  if (typeOid === DATE && value.length === 4) {
    const days = value.readInt32BE(0);
    if (days === 0x7fffffff) return 'infinity';
    if (days === -0x80000000) return '-infinity';
    const iso = new Date(POSTGRES_EPOCH_MS + days * 86_400_000).toISOString();
    // Years 1 to 9999 only: ISO prints BC and five-digit years unlike Postgres.
    return /^\d{4}-/.test(iso) && !iso.startsWith('0000') ? iso.slice(0, 10) : undefined;
  }
  return undefined;
}

/** Decodes a row for the recording sample, as the client sees it. */
export function sampleRow(values: readonly (Buffer | null)[], fields: readonly MaskField[]): (string | null)[] {
  return values.map((value, i) => {
    if (value === null) return null;
    const field = fields[i];
    if (field && field.format === 1 && !TEXT_LIKE_TYPES.has(field.typeOid)) return binaryScalarText(value, field.typeOid) ?? `\\x${value.subarray(0, 64).toString('hex')}`;
    const text = field?.typeOid === JSONB && field.format === 1 ? value.subarray(1).toString('utf8') : value.toString('utf8');
    return text.length > 1024 ? `${text.slice(0, 1024)}…` : text;
  });
}
