import { CAP } from './capabilities.js';
import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';
import { MysqlWriter } from './writer.js';

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  info: string;
}

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

/** An OK packet (0x00), or with `eofHeader` the OK that ends a result set under CLIENT_DEPRECATE_EOF (0xfe). */
export function encodeOk(ok: Partial<OkPacket> = {}, eofHeader = false): Buffer {
  const w = new MysqlWriter(32)
    .u8(eofHeader ? 0xfe : 0x00)
    .lenenc(ok.affectedRows ?? 0)
    .lenenc(ok.lastInsertId ?? 0)
    .u16(ok.status ?? 0x0002)
    .u16(ok.warnings ?? 0);
  if (ok.info) w.bytes(Buffer.from(ok.info, 'utf8'));
  return w.finish();
}

/** Reads an OK (or 0xfe OK-as-EOF) packet; session-tracking data, if any, stays in `info`'s raw tail unread. */
export function parseOk(payload: Buffer, capabilities: number): OkPacket {
  const r = new MysqlReader(payload, 0, payload.length, 'OK packet');
  const header = r.u8('header');
  if (header !== 0x00 && header !== 0xfe) throw new MysqlProtocolError('invalid_value', `OK packet header 0x${header.toString(16)}`);
  const affectedRows = r.lenencInt('affected rows');
  const lastInsertId = r.lenencInt('last insert id');
  let status = 0;
  let warnings = 0;
  if (capabilities & CAP.PROTOCOL_41) {
    status = r.u16('status flags');
    warnings = r.u16('warnings');
  }
  let info = '';
  if (r.remaining > 0) info = capabilities & CAP.SESSION_TRACK ? (r.lenencBytes('info') ?? Buffer.alloc(0)).toString('utf8') : r.rest().toString('utf8');
  return { affectedRows, lastInsertId, status, warnings, info };
}

/** ERR packet (0xff) with the SQL state marker (PROTOCOL_41). */
export function encodeErr(err: ErrPacket): Buffer {
  if (!/^[0-9A-Z]{5}$/.test(err.sqlState)) throw new MysqlProtocolError('invalid_value', `SQL state ${err.sqlState} is not 5 characters`);
  return new MysqlWriter(64).u8(0xff).u16(err.code).u8(0x23).bytes(Buffer.from(err.sqlState, 'ascii')).bytes(Buffer.from(err.message, 'utf8')).finish();
}

export function parseErr(payload: Buffer): ErrPacket {
  const r = new MysqlReader(payload, 0, payload.length, 'ERR packet');
  if (r.u8('header') !== 0xff) throw new MysqlProtocolError('invalid_value', 'ERR packet does not start with 0xff');
  const code = r.u16('error code');
  let sqlState = 'HY000';
  if (r.remaining > 0 && payload[r.pos] === 0x23) {
    r.skip(1);
    sqlState = r.bytes(5, 'SQL state').toString('ascii');
  }
  return { code, sqlState, message: r.rest().toString('utf8') };
}

/** The legacy EOF packet (0xfe, under 9 bytes). */
export function encodeEof(status = 0x0002, warnings = 0): Buffer {
  return new MysqlWriter(5).u8(0xfe).u16(warnings).u16(status).finish();
}

export function parseEof(payload: Buffer): { warnings: number; status: number } {
  const r = new MysqlReader(payload, 0, payload.length, 'EOF packet');
  if (r.u8('header') !== 0xfe) throw new MysqlProtocolError('invalid_value', 'EOF packet does not start with 0xfe');
  if (r.remaining < 4) return { warnings: 0, status: 0 };
  return { warnings: r.u16('warnings'), status: r.u16('status flags') };
}

export const isOk = (p: Buffer): boolean => p.length >= 7 && p[0] === 0x00;
export const isErr = (p: Buffer): boolean => p.length >= 3 && p[0] === 0xff;
/** A legacy EOF packet (a row can also start with 0xfe, but then it is 9 bytes or longer). */
export const isEof = (p: Buffer): boolean => p.length < 9 && p[0] === 0xfe;
/** The result-set terminator under DEPRECATE_EOF: an OK packet with the 0xfe header, under 16 MiB. */
export const isOkEof = (p: Buffer): boolean => p[0] === 0xfe && p.length >= 7 && p.length < 0xffffff;

/** Server status flags of an EOF or OK-as-EOF terminator. */
export function terminatorStatus(p: Buffer, capabilities: number): number {
  if (capabilities & CAP.DEPRECATE_EOF) return parseOk(p, capabilities).status;
  return parseEof(p).status;
}
