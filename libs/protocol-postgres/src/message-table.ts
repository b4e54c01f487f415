import { ProtocolError } from './errors.js';
import type { ProtocolLimits } from './limits.js';
import type { Parsed } from './frontend-messages.js';
import type { ChunkQueue } from './chunk-queue.js';
import { Reader } from './reader.js';

/** How to recognise, bound and decode one message type. */
export interface MessageSpec<M> {
  readonly name: string;
  /** Exact value of the length word for fixed-size messages, checked before the body is buffered. */
  readonly exactLength?: number;
  /** Tighter bound than maxMessage for the length word of a message that is small by nature. */
  readonly maxLength?: number;
  /** Bounded by maxCopyData instead of maxMessage. */
  readonly copy?: boolean;
  /** Builds the message including `raw` (in the literal, so every message of a kind shares one shape). */
  decode(r: Reader, raw: Buffer, limits: ProtocolLimits): Parsed<M>;
}

export type MessageTable<M> = ReadonlyMap<number, MessageSpec<M>>;

export function table<M>(entries: Record<string, MessageSpec<M>>): MessageTable<M> {
  const map = new Map<number, MessageSpec<M>>();
  for (const [type, spec] of Object.entries(entries)) map.set(type.charCodeAt(0), spec);
  return map;
}

/**
 * Takes the next complete typed frame (type byte + Int32 length + body) off the queue and decodes it
 * through the table. Returns undefined while the frame is incomplete. The header is validated as soon
 * as it is available, so an oversized or unknown frame is refused before its body is buffered.
 */
export function nextTypedMessage<M>(
  queue: ChunkQueue,
  messages: MessageTable<M>,
  limits: ProtocolLimits,
  side: string,
): Parsed<M> | undefined {
  if (queue.length < 1) return undefined;
  const type = queue.byteAt(0);
  const spec = messages.get(type);
  if (spec === undefined) {
    throw new ProtocolError('unknown_message', `${side}: unknown message type ${describeType(type)}`);
  }
  if (queue.length < 5) return undefined;
  const length = queue.int32At(1);
  if (length < 4) throw new ProtocolError('bad_length', `${side} ${spec.name}: length ${length} is below 4`);
  if (spec.exactLength !== undefined && length !== spec.exactLength) {
    throw new ProtocolError('bad_length', `${side} ${spec.name}: length must be ${spec.exactLength}, got ${length}`);
  }
  const limit = Math.min(spec.copy === true ? limits.maxCopyData : limits.maxMessage, spec.maxLength ?? Infinity);
  if (length > limit) {
    throw new ProtocolError('limit_exceeded', `${side} ${spec.name}: length ${length} exceeds the limit of ${limit}`);
  }
  if (queue.length < length + 1) return undefined;
  const raw = queue.take(length + 1);
  const r = new Reader(raw, 5, raw.length, `${side} ${spec.name}`);
  const message = spec.decode(r, raw, limits);
  r.done();
  return message;
}

function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}' (${type})` : `byte ${type}`;
}
