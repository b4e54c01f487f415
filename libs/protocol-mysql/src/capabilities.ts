/** Capability flags (the lower 32 bits the server and client negotiate in the handshake). */
export const CAP = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  NO_SCHEMA: 0x10,
  COMPRESS: 0x20,
  ODBC: 0x40,
  LOCAL_FILES: 0x80,
  IGNORE_SPACE: 0x100,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x1_0000,
  MULTI_RESULTS: 0x2_0000,
  PS_MULTI_RESULTS: 0x4_0000,
  PLUGIN_AUTH: 0x8_0000,
  CONNECT_ATTRS: 0x10_0000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x20_0000,
  CAN_HANDLE_EXPIRED_PASSWORDS: 0x40_0000,
  SESSION_TRACK: 0x80_0000,
  DEPRECATE_EOF: 0x100_0000,
  OPTIONAL_RESULTSET_METADATA: 0x200_0000,
  QUERY_ATTRIBUTES: 0x800_0000,
} as const;

/** Server status flags carried in OK and EOF packets. */
export const STATUS = {
  IN_TRANS: 0x1,
  AUTOCOMMIT: 0x2,
  MORE_RESULTS_EXISTS: 0x8,
  CURSOR_EXISTS: 0x40,
  LAST_ROW_SENT: 0x80,
} as const;

/**
 * What the gateway offers a client and asks of the database. The two sides of a relayed session must
 * speak the same result format, so the set is fixed and the agent requires the database to support it.
 * Left out on purpose: COMPRESS (the relay inspects packets), LOCAL_FILES (a server could ask the
 * client for any local file), SESSION_TRACK and OPTIONAL_RESULTSET_METADATA / QUERY_ATTRIBUTES
 * (formats not every server speaks), and MariaDB's extended capabilities (the upper 32 bits).
 */
export const GATEWAY_CAPABILITIES =
  CAP.LONG_PASSWORD | CAP.FOUND_ROWS | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB | CAP.ODBC | CAP.IGNORE_SPACE | CAP.PROTOCOL_41 |
  CAP.INTERACTIVE | CAP.SSL | CAP.IGNORE_SIGPIPE | CAP.TRANSACTIONS | CAP.RESERVED | CAP.SECURE_CONNECTION | CAP.MULTI_STATEMENTS |
  CAP.MULTI_RESULTS | CAP.PS_MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.CONNECT_ATTRS | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  CAP.DEPRECATE_EOF;

/** Capabilities a relayed session needs the client to have (the relay does not speak the pre-4.1 protocol). */
export const REQUIRED_CLIENT_CAPABILITIES = CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH;

/** Capabilities that change the shape of what the server sends: client and database must agree on them. */
export const FORMAT_CAPABILITIES = CAP.PROTOCOL_41 | CAP.DEPRECATE_EOF | CAP.MULTI_RESULTS | CAP.PS_MULTI_RESULTS | CAP.MULTI_STATEMENTS | CAP.TRANSACTIONS;
