import { ProtocolError } from './errors.js';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  SSL_REQUEST_CODE,
  type Parsed,
  type StartupPacket,
} from './frontend-messages.js';
import type { ChunkQueue } from './chunk-queue.js';
import type { ProtocolLimits } from './limits.js';
import { Reader } from './reader.js';

/** Secret keys are 4 bytes in protocol 3.0 and at most 256 bytes from 3.2 on. */
export const MAX_SECRET_KEY_LENGTH = 256;

/**
 * Takes the next untyped startup-phase packet (Int32 length + Int32 code + body) off the queue.
 * The length is bounded by maxStartupPacket before anything is buffered.
 */
export function nextStartupPacket(queue: ChunkQueue, limits: ProtocolLimits): Parsed<StartupPacket> | undefined {
  if (queue.length < 4) return undefined;
  const length = queue.int32At(0);
  if (length < 8) throw new ProtocolError('bad_length', `startup packet: length ${length} is below 8`);
  if (length > limits.maxStartupPacket) {
    throw new ProtocolError('limit_exceeded', `startup packet: length ${length} exceeds the limit of ${limits.maxStartupPacket}`);
  }
  if (queue.length < length) return undefined;
  const raw = queue.take(length);
  const r = new Reader(raw, 4, raw.length, 'startup packet');
  const code = r.i32('protocol code');
  const packet = decodeStartup(code, r, raw);
  r.done();
  return packet;
}

function decodeStartup(code: number, r: Reader, raw: Buffer): Parsed<StartupPacket> {
  switch (code) {
    case SSL_REQUEST_CODE:
      return { kind: 'SSLRequest', raw };
    case GSSENC_REQUEST_CODE:
      return { kind: 'GSSENCRequest', raw };
    case CANCEL_REQUEST_CODE: {
      const processId = r.i32('process id');
      const keyLength = r.remaining;
      if (keyLength < 4 || keyLength > MAX_SECRET_KEY_LENGTH) {
        throw new ProtocolError('bad_length', `CancelRequest: secret key of ${keyLength} bytes (4..${MAX_SECRET_KEY_LENGTH})`);
      }
      return { kind: 'CancelRequest', processId, secretKey: r.rest(), raw };
    }
    default:
      break;
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    // Protocol 2 and older (and the reserved 1234.x codes) are refused outright, as PostgreSQL 14+ does.
    throw new ProtocolError('unsupported_protocol', `startup packet: protocol ${major}.${minor} is not supported`);
  }
  const parameters = new Map<string, string>();
  for (;;) {
    const name = r.cstring('parameter name');
    if (name === '') break;
    const value = r.cstring(`value of ${name}`);
    // A repeated name could make the gateway and the server read different users or databases.
    if (parameters.has(name)) throw new ProtocolError('invalid_value', `StartupMessage: parameter ${name} repeated`);
    parameters.set(name, value);
  }
  return { kind: 'StartupMessage', majorVersion: 3, minorVersion: minor, parameters, raw };
}
