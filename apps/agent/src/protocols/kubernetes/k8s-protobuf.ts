/**
 * Just enough of Kubernetes' protobuf encoding to read a small request body: the envelope
 * (`k8s\0` then a runtime.Unknown whose field 2 holds the object) and the fields of a message. kubectl
 * 1.32+ sends some typed requests this way (`application/vnd.kubernetes.protobuf`), among them the
 * self reviews of `kubectl auth can-i`. Anything malformed is a ProtobufError; nothing is guessed.
 */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const UNKNOWN_RAW_FIELD = 2;
const MAX_MESSAGE_BYTES = 1024 * 1024;

export class ProtobufError extends Error {}

/** The length-delimited fields of a message, by field number (varints and fixed-size fields are skipped). */
export type ProtoFields = Map<number, Buffer[]>;

function varint(bytes: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i]!;
    // Lengths and field numbers here are far below 2^31: a larger varint is malformed for our use.
    if (shift > 28 && (b & 0x7f) !== 0) throw new ProtobufError('protobuf varint too large');
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new ProtobufError('protobuf varint runs past the end');
}

export function protoFields(bytes: Buffer): ProtoFields {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new ProtobufError('protobuf message too large');
  const fields: ProtoFields = new Map();
  let at = 0;
  while (at < bytes.length) {
    const [key, next] = varint(bytes, at);
    at = next;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new ProtobufError('protobuf field number 0');
    if (wire === 0) at = varint(bytes, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, start] = varint(bytes, at);
      if (start + length > bytes.length) throw new ProtobufError('protobuf field runs past the end');
      const list = fields.get(field) ?? [];
      list.push(bytes.subarray(start, start + length));
      fields.set(field, list);
      at = start + length;
    } else throw new ProtobufError(`protobuf wire type ${wire} is not supported`);
    if (at > bytes.length) throw new ProtobufError('protobuf field runs past the end');
  }
  return fields;
}

/** The object inside a Kubernetes protobuf body (the envelope's raw bytes). */
export function unwrapEnvelope(body: Buffer): Buffer {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw new ProtobufError('not a Kubernetes protobuf body (no k8s\\0 prefix)');
  const raw = protoFields(body.subarray(MAGIC.length)).get(UNKNOWN_RAW_FIELD)?.[0];
  if (!raw) throw new ProtobufError('the protobuf envelope holds no object');
  return raw;
}

/** A string field (the last one sent wins, as in protobuf); undefined when absent. */
export function protoString(fields: ProtoFields | undefined, field: number): string | undefined {
  const values = fields?.get(field);
  const value = values?.[values.length - 1];
  if (value === undefined) return undefined;
  const text = value.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(value)) throw new ProtobufError(`protobuf field ${field} is not UTF-8 text`);
  return text;
}

/** A message field's own fields; undefined when absent. */
export function protoMessage(fields: ProtoFields | undefined, field: number): ProtoFields | undefined {
  const values = fields?.get(field);
  const value = values?.[values.length - 1];
  return value === undefined ? undefined : protoFields(value);
}
