/**
 * Why a byte stream (or a value to encode) was refused. The code is stable so that callers can map it
 * with an exhaustive switch (e.g. to SQLSTATE 08P01 on the wire); the message is for humans and logs.
 */
export const PROTOCOL_ERROR_CODES = [
  /** A field reads past the end of its message. */
  'truncated',
  /** A C string has no NUL terminator inside its message. */
  'missing_nul',
  /** A length field is impossible (< 4, negative, does not match the message). */
  'bad_length',
  /** A length or count exceeds a configured hard limit. */
  'limit_exceeded',
  /** A count announces more items than the remaining bytes can hold. */
  'bad_count',
  /** A message has bytes left over after its last field. */
  'trailing_bytes',
  /** A type byte (or authentication code) is not in the message table. */
  'unknown_message',
  /** A startup packet asks for a protocol version we do not speak. */
  'unsupported_protocol',
  /** A field holds a value the protocol does not allow (bad enum, duplicate key, NUL in a string...). */
  'invalid_value',
  /** The stream ended in the middle of a message. */
  'unexpected_eof',
  /** Bytes arrived where none may (after a CancelRequest, or after the parser already failed). */
  'unexpected_data',
  /** SCRAM exchange failed: malformed server message, bad nonce, server signature mismatch. */
  'auth_failed',
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
