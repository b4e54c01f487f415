import { describe, expect, it } from 'vitest';
import { binaryString, binaryValueText, encodeBinaryRow, parseBinaryRow } from './binary-row.js';
import { parseCommand, COM } from './commands.js';
import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';
import { encodeErr, encodeOk, isEof, isOkEof, parseErr, parseOk } from './responses.js';
import { CAP } from './capabilities.js';
import { TYPE, encodeColumnDefinition, encodeTextRow, parseColumnCount, parseColumnDefinition, parseTextRow, type ColumnDefinition } from './result-set.js';
import { MysqlWriter } from './writer.js';

describe('length-encoded integers', () => {
  it('round-trip at every encoding boundary', () => {
    for (const n of [0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000, 2 ** 40]) {
      const r = new MysqlReader(new MysqlWriter().lenenc(n).finish());
      expect(r.lenencInt()).toBe(n);
      r.done();
    }
  });

  it('refuse 0xff and a NULL where a number belongs', () => {
    expect(() => new MysqlReader(Buffer.from([0xff])).lenenc()).toThrow(/0xff/);
    expect(() => new MysqlReader(Buffer.from([0xfb])).lenenc()).toThrow(MysqlProtocolError);
  });

  it('refuse a string longer than its packet', () => {
    expect(() => new MysqlReader(Buffer.from([0xfc, 0xff, 0x00, 0x41])).lenencBytes()).toThrow(/truncated/);
  });
});

const column: ColumnDefinition = {
  catalog: 'def', schema: 'shop', table: 'c', orgTable: 'customers', name: 'email', orgName: 'email', charset: 45, length: 1020, type: TYPE.VAR_STRING, flags: 0, decimals: 0,
};

describe('result sets', () => {
  it('round-trips a column definition and fails cleanly at every cut', () => {
    const wire = encodeColumnDefinition(column);
    expect(parseColumnDefinition(wire)).toEqual(column);
    for (let cut = 0; cut < wire.length; cut++) expect(() => parseColumnDefinition(wire.subarray(0, cut))).toThrow(MysqlProtocolError);
  });

  it('round-trips text rows with NULLs and long values', () => {
    const values = [Buffer.from('a'), null, Buffer.alloc(300, 0x62), Buffer.alloc(0)];
    expect(parseTextRow(encodeTextRow(values), 4)).toEqual(values);
    expect(() => parseTextRow(encodeTextRow(values), 3)).toThrow(/trailing_bytes/);
    expect(() => parseTextRow(encodeTextRow(values), 5)).toThrow(/truncated/);
  });

  it('bounds the column count', () => {
    expect(parseColumnCount(Buffer.from([3]))).toBe(3);
    expect(() => parseColumnCount(Buffer.from([0xfc, 0xff, 0xff]))).toThrow(/limit_exceeded/);
  });

  it('splits binary rows by type and rebuilds them with a value replaced', () => {
    const types = [TYPE.LONG, TYPE.VAR_STRING, TYPE.DATETIME, TYPE.LONGLONG, TYPE.DOUBLE];
    const long = Buffer.alloc(4);
    long.writeInt32LE(-42);
    const ll = Buffer.alloc(8);
    ll.writeBigUInt64LE(4111111111111111n);
    const dbl = Buffer.alloc(8);
    dbl.writeDoubleLE(1.5);
    const dt = Buffer.from([7, 0xea, 0x07, 12, 6, 10, 30, 5]);
    const row = encodeBinaryRow([long, binaryString('ann@example.com'), dt, null, dbl]);
    const values = parseBinaryRow(row, types);
    expect(values[3]).toBeNull();
    expect(binaryValueText(values[0]!, TYPE.LONG, 0)).toBe('-42');
    expect(binaryValueText(values[1]!, TYPE.VAR_STRING, 0)).toBe('ann@example.com');
    expect(binaryValueText(values[2]!, TYPE.DATETIME, 0)).toBe('2026-12-06 10:30:05');
    expect(binaryValueText(values[4]!, TYPE.DOUBLE, 0)).toBe('1.5');
    expect(binaryValueText(ll, TYPE.LONGLONG, 0x20)).toBe('4111111111111111');
    values[1] = binaryString('***');
    expect(binaryValueText(parseBinaryRow(encodeBinaryRow(values), types)[1]!, TYPE.VAR_STRING, 0)).toBe('***');
    for (let cut = 0; cut < row.length; cut++) expect(() => parseBinaryRow(row.subarray(0, cut), types)).toThrow(MysqlProtocolError);
  });
});

describe('OK, ERR, EOF', () => {
  it('round-trip', () => {
    const ok = parseOk(encodeOk({ affectedRows: 3, lastInsertId: 300, status: 0x22, warnings: 1, info: 'Rows matched: 3' }), CAP.PROTOCOL_41);
    expect(ok).toEqual({ affectedRows: 3, lastInsertId: 300, status: 0x22, warnings: 1, info: 'Rows matched: 3' });
    expect(parseErr(encodeErr({ code: 1142, sqlState: '42000', message: 'denied' }))).toEqual({ code: 1142, sqlState: '42000', message: 'denied' });
    expect(() => encodeErr({ code: 1, sqlState: 'bad', message: '' })).toThrow(MysqlProtocolError);
  });

  it('tells an EOF from a row that starts with 0xfe', () => {
    expect(isEof(Buffer.from([0xfe, 0, 0, 2, 0]))).toBe(true);
    expect(isEof(Buffer.concat([Buffer.from([0xfe]), Buffer.alloc(8)]))).toBe(false);
    expect(isOkEof(encodeOk({}, true))).toBe(true);
  });
});

describe('commands', () => {
  it('decodes what the gateway decides on', () => {
    expect(parseCommand(Buffer.from('\x03SELECT 1', 'latin1'))).toEqual({ kind: 'query', text: 'SELECT 1' });
    expect(parseCommand(Buffer.from([COM.STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0]))).toEqual({ kind: 'execute', statementId: 1, flags: 0 });
    expect(parseCommand(Buffer.from([COM.PROCESS_KILL, 5, 0, 0, 0]))).toEqual({ kind: 'kill', connectionId: 5 });
    expect(parseCommand(Buffer.from([COM.CHANGE_USER]))).toEqual({ kind: 'other', command: COM.CHANGE_USER, name: 'COM_CHANGE_USER' });
    expect(parseCommand(Buffer.from([COM.FIELD_LIST, 0x74, 0]))).toEqual({ kind: 'field_list', table: 't', wildcard: '' });
  });

  it('refuses query text that is not UTF-8 and truncated commands', () => {
    expect(() => parseCommand(Buffer.from([COM.QUERY, 0xff, 0xfe]))).toThrow(/UTF-8/);
    expect(() => parseCommand(Buffer.from([COM.STMT_EXECUTE, 1]))).toThrow(/truncated/);
    expect(() => parseCommand(Buffer.alloc(0))).toThrow(/truncated/);
  });
});
