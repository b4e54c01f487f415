import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';

/** Command bytes (the first byte of every client packet after the handshake). */
export const COM = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  /** MariaDB: array binding for a prepared statement. */
  STMT_BULK_EXECUTE: 0xfa,
} as const;

const NAMES = new Map<number, string>(Object.entries(COM).map(([name, byte]) => [byte, `COM_${name}`]));

export function commandName(byte: number): string {
  return NAMES.get(byte) ?? `unknown command 0x${byte.toString(16).padStart(2, '0')}`;
}

/** A client command, decoded as far as the gateway needs to decide it. */
export type ClientCommand =
  | { kind: 'query'; text: string }
  | { kind: 'prepare'; text: string }
  | { kind: 'execute'; statementId: number; flags: number }
  | { kind: 'bulk_execute'; statementId: number }
  | { kind: 'fetch'; statementId: number; rows: number }
  | { kind: 'long_data'; statementId: number; param: number }
  | { kind: 'close_statement'; statementId: number }
  | { kind: 'reset_statement'; statementId: number }
  | { kind: 'init_db'; schema: string }
  | { kind: 'field_list'; table: string; wildcard: string }
  | { kind: 'kill'; connectionId: number }
  | { kind: 'set_option'; option: number }
  | { kind: 'quit' }
  | { kind: 'ping' }
  | { kind: 'statistics' }
  | { kind: 'reset_connection' }
  | { kind: 'debug' }
  /** Every other command: the agent refuses them (change user, replication, shutdown, legacy DB commands). */
  | { kind: 'other'; command: number; name: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(r: MysqlReader, field: string): string {
  try {
    return utf8.decode(r.rest());
  } catch {
    throw new MysqlProtocolError('invalid_value', `${field} is not valid UTF-8`);
  }
}

/** Decodes one client command payload. Unknown and refused commands come back as `other`. */
export function parseCommand(payload: Buffer): ClientCommand {
  const r = new MysqlReader(payload, 0, payload.length, 'command');
  const command = r.u8('command');
  switch (command) {
    case COM.QUERY:
      return { kind: 'query', text: text(r, 'query text') };
    case COM.STMT_PREPARE:
      return { kind: 'prepare', text: text(r, 'statement text') };
    case COM.STMT_EXECUTE: {
      const statementId = r.u32('statement id');
      return { kind: 'execute', statementId, flags: r.u8('cursor flags') };
    }
    case COM.STMT_BULK_EXECUTE:
      return { kind: 'bulk_execute', statementId: r.u32('statement id') };
    case COM.STMT_FETCH:
      return { kind: 'fetch', statementId: r.u32('statement id'), rows: r.u32('rows') };
    case COM.STMT_SEND_LONG_DATA:
      return { kind: 'long_data', statementId: r.u32('statement id'), param: r.u16('parameter') };
    case COM.STMT_CLOSE:
      return { kind: 'close_statement', statementId: r.u32('statement id') };
    case COM.STMT_RESET:
      return { kind: 'reset_statement', statementId: r.u32('statement id') };
    case COM.INIT_DB:
      return { kind: 'init_db', schema: text(r, 'schema name') };
    case COM.FIELD_LIST: {
      const table = r.nulString('table');
      return { kind: 'field_list', table, wildcard: r.rest().toString('utf8') };
    }
    case COM.PROCESS_KILL:
      return { kind: 'kill', connectionId: r.u32('connection id') };
    case COM.SET_OPTION:
      return { kind: 'set_option', option: r.u16('option') };
    case COM.QUIT:
      return { kind: 'quit' };
    case COM.PING:
      return { kind: 'ping' };
    case COM.STATISTICS:
      return { kind: 'statistics' };
    case COM.RESET_CONNECTION:
      return { kind: 'reset_connection' };
    case COM.DEBUG:
      return { kind: 'debug' };
    default:
      return { kind: 'other', command, name: commandName(command) };
  }
}
