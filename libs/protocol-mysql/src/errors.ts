/**
 * Why MySQL bytes (or a value to encode) were refused. The code is stable so callers can map it with an
 * exhaustive switch (to an ERR packet 1835 "malformed packet" on the wire); the message is for logs.
 */
export const MYSQL_PROTOCOL_ERROR_CODES = [
  /** A field reads past the end of its packet. */
  'truncated',
  /** A NUL-terminated string has no NUL inside its packet. */
  'missing_nul',
  /** A length (packet or length-encoded) exceeds a hard limit. */
  'limit_exceeded',
  /** A packet's sequence id is not the one expected. */
  'bad_sequence',
  /** A field holds a value the protocol does not allow (0xff length prefix, unknown column type...). */
  'invalid_value',
  /** A packet has bytes left over after its last field. */
  'trailing_bytes',
  /** The stream ended in the middle of a packet. */
  'unexpected_eof',
] as const;
export type MysqlProtocolErrorCode = (typeof MYSQL_PROTOCOL_ERROR_CODES)[number];

export class MysqlProtocolError extends Error {
  override readonly name = 'MysqlProtocolError';

  constructor(
    readonly code: MysqlProtocolErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
