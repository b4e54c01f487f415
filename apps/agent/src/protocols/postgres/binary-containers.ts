/**
 * PostgreSQL's binary send formats for containers (array_send, record_send), decoded just enough to
 * reach the values inside and re-encoded with the lengths fixed up. A result column in binary format
 * can be `ARRAY[email]` or `ROW(email, card)`; masking must see its strings like it does in text.
 *
 * array:  int32 ndim, int32 has-null flag, uint32 element type, ndim x (int32 size, int32 lower bound),
 *         then per element int32 length (-1 = NULL) and the bytes.
 * record: int32 column count, then per column uint32 type, int32 length (-1 = NULL) and the bytes.
 */

/** Element of a container: its type and value (null = SQL NULL). */
export interface ContainerElement {
  typeOid: number;
  value: Buffer | null;
}

export interface DecodedArray {
  kind: 'array';
  header: Buffer;
  elementType: number;
  elements: (Buffer | null)[];
}

export interface DecodedRecord {
  kind: 'record';
  columns: ContainerElement[];
}

/** PostgreSQL's own limit (MAXDIM). */
const MAX_DIMENSIONS = 6;

/** Decodes an array value, or returns undefined when the bytes are not one (lengths must add up exactly). */
export function decodeArray(value: Buffer): DecodedArray | undefined {
  if (value.length < 12) return undefined;
  const ndim = value.readInt32BE(0);
  const flags = value.readInt32BE(4);
  const elementType = value.readUInt32BE(8);
  if (ndim < 0 || ndim > MAX_DIMENSIONS || (flags !== 0 && flags !== 1)) return undefined;
  const headerEnd = 12 + ndim * 8;
  if (value.length < headerEnd) return undefined;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) {
    const size = value.readInt32BE(12 + d * 8);
    if (size < 0) return undefined;
    count *= size;
    // Each element takes at least its 4-byte length: a count beyond that cannot be honest.
    if (count > (value.length - headerEnd) / 4) return undefined;
  }
  const elements: (Buffer | null)[] = [];
  let at = headerEnd;
  for (let i = 0; i < count; i++) {
    const item = readItem(value, at);
    if (!item) return undefined;
    elements.push(item.value);
    at = item.next;
  }
  if (at !== value.length) return undefined;
  return { kind: 'array', header: value.subarray(0, headerEnd), elementType, elements };
}

/** Decodes a record (row/composite) value, or returns undefined when the bytes are not one. */
export function decodeRecord(value: Buffer): DecodedRecord | undefined {
  if (value.length < 4) return undefined;
  const count = value.readInt32BE(0);
  if (count < 0 || count > (value.length - 4) / 8) return undefined;
  const columns: ContainerElement[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > value.length) return undefined;
    const typeOid = value.readUInt32BE(at);
    const item = readItem(value, at + 4);
    if (!item) return undefined;
    columns.push({ typeOid, value: item.value });
    at = item.next;
  }
  if (at !== value.length) return undefined;
  return { kind: 'record', columns };
}

export function encodeArray(array: DecodedArray): Buffer {
  const parts: Buffer[] = [array.header];
  for (const element of array.elements) parts.push(...item(element));
  return Buffer.concat(parts);
}

export function encodeRecord(record: DecodedRecord): Buffer {
  const count = Buffer.alloc(4);
  count.writeInt32BE(record.columns.length);
  const parts: Buffer[] = [count];
  for (const column of record.columns) {
    const oid = Buffer.alloc(4);
    oid.writeUInt32BE(column.typeOid);
    parts.push(oid, ...item(column.value));
  }
  return Buffer.concat(parts);
}

function readItem(buf: Buffer, at: number): { value: Buffer | null; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const length = buf.readInt32BE(at);
  if (length === -1) return { value: null, next: at + 4 };
  if (length < 0 || at + 4 + length > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

function item(value: Buffer | null): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeInt32BE(value === null ? -1 : value.length);
  return value === null ? [length] : [length, value];
}
