import { ProtocolError } from './errors.js';

/**
 * Hard limits the parsers enforce on inbound bytes. A frame whose header announces more than a limit
 * is refused as soon as the header is read, before any body byte is buffered.
 */
export interface ProtocolLimits {
  /** Whole startup-phase packet (StartupMessage, SSLRequest, CancelRequest...), length word included. */
  readonly maxStartupPacket: number;
  /** Any typed message except CopyData, length word included (type byte excluded). */
  readonly maxMessage: number;
  /** A CopyData message, length word included. */
  readonly maxCopyData: number;
  /** Parameters in Parse/Bind/ParameterDescription and arguments in FunctionCall. */
  readonly maxParams: number;
  /** Columns in RowDescription/DataRow and column formats in Copy*Response. */
  readonly maxFields: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  // PostgreSQL itself refuses startup packets over 10 000 bytes (MAX_STARTUP_PACKET_LENGTH).
  maxStartupPacket: 10_000,
  maxMessage: 64 * 1024 * 1024,
  maxCopyData: 64 * 1024 * 1024,
  // Counts are 16-bit on the wire; the server accepts at most 65535 bind parameters.
  maxParams: 65_535,
  // MaxTupleAttributeNumber in PostgreSQL.
  maxFields: 1_664,
});

/** The largest length an Int32 length word can carry. */
export const MAX_WIRE_LENGTH = 0x7fff_ffff;

/** Fills in defaults and refuses nonsense (a limit that is not a positive integer would disable a check). */
export function resolveLimits(overrides: Partial<ProtocolLimits> = {}): ProtocolLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_WIRE_LENGTH) {
      throw new ProtocolError('invalid_value', `limit ${name} must be an integer in 1..${MAX_WIRE_LENGTH}, got ${String(value)}`);
    }
  }
  if (limits.maxStartupPacket < 8) {
    throw new ProtocolError('invalid_value', 'limit maxStartupPacket must be at least 8 (an SSLRequest)');
  }
  return Object.freeze(limits);
}
