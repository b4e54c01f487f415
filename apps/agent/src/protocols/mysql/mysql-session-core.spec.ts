import {
  CAP, COM, GATEWAY_CAPABILITIES, PacketFramer, TYPE, encodeColumnDefinition, encodeErr, encodeOk, encodeTextRow, packet, parseBinaryRow, parseColumnDefinition, parseErr, parseTextRow,
  type ColumnDefinition,
} from '@gw/protocol-mysql';
import { Masker } from '@gw/masking';
import { MysqlClassifier } from '@gw/sql-mysql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { memoryRecorder } from '../../../test/support/pg-session-fixture.js';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { StatementGate } from '../postgres/statement-gate.js';
import { StatementRecording } from '../postgres/statement-recording.js';
import { maskColumnDefault, maskErrMessage, MysqlSessionCore } from './mysql-session-core.js';

/*
 * The MySQL session core fed bytes directly, no sockets: however the client's and the database's bytes
 * are cut, the same commands reach the database, the same (masked) packets reach the client, and the
 * same statements are recorded.
 */

const POLICY = `
@id("read") @mask("email:partial")
permit (principal, action in Gateway::Action::"sql:read", resource);
@id("no-delete") @reason("no deletes")
forbid (principal, action == Gateway::Action::"sql:delete", resource);
`;
const CAPS = GATEWAY_CAPABILITIES & ~CAP.SSL;
/** Compiled once: every session below shares the engine, as an agent's sessions do. */
const CLASSIFIER = new MysqlClassifier();
const POLICY_HOLDER = new PolicyHolder(() => ({ version: 1, sha256: 'x', text: POLICY }), pino({ level: 'silent' }));

function session(durability?: (n: number) => Promise<void>, capabilities = CAPS) {
  const { recorder, records } = memoryRecorder(durability);
  const toClient: Buffer[] = [];
  const toServer: Buffer[] = [];
  const failures: string[] = [];
  const gate = new StatementGate(
    POLICY_HOLDER,
    { principal: { id: 'p', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: [] }, resource: { name: 'db', type: 'mysql', labels: {} }, dbRole: 'app', sourceIp: '127.0.0.1' },
    undefined,
    new AbortController().signal,
    'mysql',
  );
  const core = new MysqlSessionCore({
    toClient: (b) => toClient.push(Buffer.from(b)) > 0,
    toServer: (b) => toServer.push(Buffer.from(b)) > 0,
    pauseClient: () => undefined,
    resumeClient: () => undefined,
    pauseServer: () => undefined,
    resumeServer: () => undefined,
    gate,
    classifier: CLASSIFIER,
    recording: new StatementRecording(recorder, Buffer.alloc(32, 7), 10, 'mysql.statement'),
    maskingKey: Buffer.alloc(32, 7),
    capabilities,
    sampleRows: 10,
    kill: () => Promise.resolve({ ok: false, code: 1094, message: 'Unknown thread id' }),
    fail: (reason) => failures.push(reason),
  });
  return { core, toClient, toServer, records, failures };
}

const column = (name: string, type: number = TYPE.VAR_STRING): ColumnDefinition => ({
  catalog: 'def', schema: 'shop', table: 'customers', orgTable: 'customers', name, orgName: name, charset: 45, length: 400, type, flags: 0, decimals: 0,
});

/** The database's answer to `SELECT id, email FROM customers`: one row, DEPRECATE_EOF framing. */
const resultSet = Buffer.concat([
  packet(Buffer.from([2]), 1),
  packet(encodeColumnDefinition(column('id', TYPE.LONG)), 2),
  packet(encodeColumnDefinition(column('email')), 3),
  packet(encodeTextRow([Buffer.from('1'), Buffer.from('ada@example.com')]), 4),
  packet(encodeOk({ status: 2 }, true), 5),
]);

const payloads = (chunks: Buffer[]) => new PacketFramer().push(Buffer.concat(chunks));
/** Answers wait for their statement's record: the in-memory journal confirms it a microtask later. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('MysqlSessionCore', () => {
  it('forwards an allowed query and masks the rows of its answer, however the answer is cut', async () => {
    for (let cut = 0; cut <= resultSet.length; cut++) {
      const s = session();
      s.core.clientBytes(packet(Buffer.from('\x03SELECT id, email FROM customers', 'latin1'), 0));
      expect(payloads(s.toServer).map((p) => p.payload.subarray(1).toString())).toEqual(['SELECT id, email FROM customers']);
      s.core.serverBytes(resultSet.subarray(0, cut));
      s.core.serverBytes(resultSet.subarray(cut));
      await settle();
      const out = payloads(s.toClient);
      expect(out.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(parseTextRow(out[3]!.payload, 2).map((v) => v?.toString())).toEqual(['1', 'a**@example.com']);
      expect(s.records.filter((r) => r.type === 'mysql.statement').map((r) => r.data['rows'])).toEqual([[['1', 'a**@example.com']]]);
    }
  });

  it('refuses a denied statement with ERR 1142 naming the policy, without reaching the database', async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from('\x03DELETE FROM customers', 'latin1'), 0));
    await settle();
    expect(s.toServer).toEqual([]);
    const [err] = payloads(s.toClient);
    expect(err!.seq).toBe(1);
    expect(parseErr(err!.payload)).toMatchObject({ code: 1142, sqlState: '42000', message: expect.stringContaining('"no-delete"') as unknown });
    expect(s.records.map((r) => r.data['decision'])).toEqual(['deny']);
  });

  it('refuses COM_DEBUG (an administrator\'s command no statement policy decides) without reaching the database', async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from([COM.DEBUG]), 0));
    await settle();
    expect(s.toServer).toEqual([]);
    expect(parseErr(payloads(s.toClient)[0]!.payload)).toMatchObject({ code: 1227, message: expect.stringContaining('COM_DEBUG') as unknown });
    // the session goes on
    s.core.clientBytes(packet(Buffer.from([COM.PING]), 0));
    expect(s.toServer).toHaveLength(1);
  });

  it('holds pipelined commands until the answer before them has ended', async () => {
    const s = session();
    s.core.clientBytes(Buffer.concat([packet(Buffer.from('\x03SELECT id, email FROM customers', 'latin1'), 0), packet(Buffer.from([COM.PING]), 0)]));
    expect(s.toServer).toHaveLength(1);
    s.core.serverBytes(resultSet);
    expect(s.toServer).toHaveLength(2);
    s.core.serverBytes(packet(encodeOk(), 1));
    await settle();
    expect(payloads(s.toClient).at(-1)!.payload[0]).toBe(0x00);
  });

  it('follows COM_SET_OPTION for multi-statements (what mysqli::multi_query sends), not only the login flag', async () => {
    const s = session(undefined, CAPS & ~CAP.MULTI_STATEMENTS);
    const multi = packet(Buffer.from('\x03SELECT id FROM customers; SELECT email FROM customers', 'latin1'), 0);
    const setOption = (option: number) => packet(Buffer.from([COM.SET_OPTION, option, 0]), 0);
    const sent = () => payloads(s.toServer).map((p) => p.payload[0] === COM.QUERY ? p.payload.subarray(1).toString() : `option ${p.payload[1]}`);
    s.core.clientBytes(multi);
    await settle();
    expect(sent()).toEqual([]);
    expect(parseErr(payloads(s.toClient)[0]!.payload).message).toMatch(/need CLIENT_MULTI_STATEMENTS/);
    // MYSQL_OPTION_MULTI_STATEMENTS_ON: the server now runs such texts, and the gateway lets them through (each one decided).
    s.core.clientBytes(setOption(0));
    s.core.serverBytes(packet(encodeOk(), 1));
    s.core.clientBytes(multi);
    expect(sent()).toEqual(['option 0', 'SELECT id FROM customers; SELECT email FROM customers']);
    s.core.serverBytes(packet(encodeErr({ code: 1146, sqlState: '42S02', message: 'no table' }), 1));
    // _OFF: refused again.
    s.core.clientBytes(setOption(1));
    s.core.serverBytes(packet(encodeOk(), 1));
    s.core.clientBytes(multi);
    await settle();
    expect(sent()).toHaveLength(3);
    expect(parseErr(payloads(s.toClient).at(-1)!.payload).message).toMatch(/need CLIENT_MULTI_STATEMENTS/);
  });

  it('ties an execution to the prepared text: a DELETE cannot be prepared, an unknown id is refused', async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from('\x16DELETE FROM customers WHERE id = ?', 'latin1'), 0));
    await settle();
    expect(parseErr(payloads(s.toClient)[0]!.payload).code).toBe(1142);
    s.core.clientBytes(packet(Buffer.from([COM.STMT_EXECUTE, 9, 0, 0, 0, 0, 1, 0, 0, 0]), 0));
    await settle();
    expect(parseErr(payloads(s.toClient)[1]!.payload)).toMatchObject({ code: 1227, message: expect.stringContaining('unknown prepared statement') as unknown });
    expect(s.toServer).toEqual([]);
  });

  it('ends the session when the database asks for a local file the gateway never offered', () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from('\x03SELECT 1', 'latin1'), 0));
    s.core.serverBytes(packet(Buffer.from('\xfb/etc/passwd', 'latin1'), 1));
    expect(s.failures[0]).toMatch(/local file/);
    expect(s.toClient).toEqual([]);
  });

  it('releases an answer only once its record is durable', async () => {
    let confirm!: () => void;
    const s = session(() => new Promise<void>((resolve) => (confirm = resolve)));
    s.core.clientBytes(packet(Buffer.from('\x03SELECT id, email FROM customers', 'latin1'), 0));
    s.core.serverBytes(resultSet);
    await settle();
    expect(s.toClient).toEqual([]);
    confirm();
    await settle();
    expect(payloads(s.toClient)).toHaveLength(5);
  });

  it("masks the values a database error quotes, in the error and in the record; a progress report is left alone", async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from('\x03SELECT name FROM customers', 'latin1'), 0));
    s.core.serverBytes(packet(encodeErr({ code: 1062, sqlState: '23000', message: "Duplicate entry 'ada@example.com' for key 'email'" }), 1));
    await settle();
    expect(parseErr(payloads(s.toClient)[0]!.payload)).toEqual({ code: 1062, sqlState: '23000', message: "Duplicate entry 'a**@example.com' for key 'email'" });
    expect(s.records[0]!.data['error']).toMatchObject({ message: "Duplicate entry 'a**@example.com' for key 'email'" });
    // A statement that references a column named for a masked entity: every quoted value, whatever its shape.
    const t = session();
    t.core.clientBytes(packet(Buffer.from("\x03SELECT CAST(REPLACE(email, '@', '#') AS SIGNED) FROM customers", 'latin1'), 0));
    t.core.serverBytes(packet(encodeErr({ code: 1292, sqlState: '22007', message: "Truncated incorrect INTEGER value: 'ada#example.com'" }), 1));
    await settle();
    expect(parseErr(payloads(t.toClient)[0]!.payload).message).toBe("Truncated incorrect INTEGER value: '***#*******.***'");
    const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }], columns: [] }, { key: Buffer.alloc(32, 7) });
    // Without the SQL state (a client without CLIENT_PROTOCOL_41), and MariaDB's progress report (code 0xffff).
    const bare = Buffer.concat([Buffer.from([0xff, 0x26, 0x04]), Buffer.from("Duplicate entry 'ada@example.com'")]);
    expect(maskErrMessage(bare, masker)?.toString('latin1')).toBe("\xff\x26\x04Duplicate entry '***@*******.***'");
    expect(maskErrMessage(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 1, 2, 0, 0, 0]), Buffer.from('ada@example.com')]), masker)).toBeUndefined();
    // For a statement that references a ruled column, every quoted value: a name has no shape to find.
    const named = Buffer.concat([Buffer.from([0xff, 0x26, 0x04]), Buffer.from("Duplicate entry 'Ada' for key 'name'")]);
    expect(maskErrMessage(named, masker)).toBeUndefined();
    expect(maskErrMessage(named, masker, true)?.toString('latin1')).toBe("\xff\x26\x04Duplicate entry '***' for key '****'");
  });

  it('COM_FIELD_LIST: masks the defaults it lists, however the answer is cut, and records it as SHOW COLUMNS', async () => {
    const withDefault = (name: string, value: string | null) => encodeColumnDefinition({ ...column(name), defaultValue: value === null ? null : Buffer.from(value) });
    const answer = Buffer.concat([
      packet(withDefault('id', null), 1),
      packet(withDefault('contact', 'ops+alerts@example.com'), 2),
      packet(withDefault('note', 'none'), 3),
      packet(Buffer.from([0xfe, 0, 0, 2, 0]), 4),
    ]);
    for (let cut = 0; cut <= answer.length; cut++) {
      const s = session();
      s.core.clientBytes(packet(Buffer.concat([Buffer.from([COM.FIELD_LIST]), Buffer.from('customers\0')]), 0));
      expect(payloads(s.toServer)[0]!.payload[0]).toBe(COM.FIELD_LIST);
      s.core.serverBytes(answer.subarray(0, cut));
      s.core.serverBytes(answer.subarray(cut));
      await settle();
      const out = payloads(s.toClient);
      expect(out.map((p) => p.seq)).toEqual([1, 2, 3, 4]);
      const defaults = out.slice(0, 3).map((p) => parseColumnDefinition(p.payload));
      expect(defaults.map((d) => d.defaultValue?.toString() ?? null)).toEqual([null, 'o*********@example.com', 'none']);
      expect(defaults.map((d) => d.name)).toEqual(['id', 'contact', 'note']);
      expect(out[0]!.payload).toEqual(withDefault('id', null));
      expect(s.records.map((r) => [r.data['text'], r.data['rowCount'], r.data['decision']])).toEqual([['SHOW COLUMNS FROM `customers`', 3, 'allow']]);
      expect(s.failures).toEqual([]);
    }
    const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }], columns: [] }, { key: Buffer.alloc(32, 7) });
    // A default longer than 250 bytes (a 3-byte length prefix) keeps every byte before it.
    const long = `${'x'.repeat(300)} ada@example.com`;
    const masked = maskColumnDefault(withDefault('bio', long), masker)!;
    expect(parseColumnDefinition(masked).defaultValue?.toString()).toBe(`${'x'.repeat(300)} ***@*******.***`);
    expect(masked.subarray(0, masked.length - 318)).toEqual(withDefault('bio', long).subarray(0, masked.length - 318));
    expect(maskColumnDefault(withDefault('bio', 'nothing here'), masker)).toBeUndefined();
  });

  it('COM_FIELD_LIST: a database error is passed through and recorded', async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.concat([Buffer.from([COM.FIELD_LIST]), Buffer.from('nope\0')]), 0));
    s.core.serverBytes(packet(encodeErr({ code: 1146, sqlState: '42S02', message: "Table 'shop.nope' doesn't exist" }), 1));
    await settle();
    expect(parseErr(payloads(s.toClient)[0]!.payload).code).toBe(1146);
    expect(s.records.map((r) => [r.data['text'], (r.data['error'] as { code: string }).code])).toEqual([['SHOW COLUMNS FROM `nope`', '1146']]);
  });

  it('passes a database error through and records it', async () => {
    const s = session();
    s.core.clientBytes(packet(Buffer.from('\x03SELECT id FROM customers', 'latin1'), 0));
    s.core.serverBytes(packet(encodeErr({ code: 1146, sqlState: '42S02', message: "Table 'shop.customers' doesn't exist" }), 1));
    await settle();
    expect(parseErr(payloads(s.toClient)[0]!.payload).code).toBe(1146);
    expect(s.records[0]!.data['error']).toMatchObject({ code: '1146' });
  });

  it('a read-only cursor: rows fetched with COM_STMT_FETCH are masked and recorded; a fetch without a cursor fails cleanly', async () => {
    const s = session();
    const u32 = (n: number) => Buffer.from([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
    const fetch = (id: number, rows: number) => packet(Buffer.concat([Buffer.from([COM.STMT_FETCH]), u32(id), u32(rows)]), 0);
    /** A binary row of one string column, as MariaDB sends it. */
    const binaryRow = (text: string) => Buffer.concat([Buffer.from([0x00, 0x00, text.length]), Buffer.from(text)]);
    s.core.clientBytes(packet(Buffer.from('\x16SELECT email FROM customers', 'latin1'), 0));
    s.core.serverBytes(Buffer.concat([packet(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 1), packet(encodeColumnDefinition(column('email')), 2)]));
    // COM_STMT_EXECUTE, statement 1, CURSOR_TYPE_READ_ONLY, iteration count 1: the answer ends with CURSOR_EXISTS and no rows.
    s.core.clientBytes(packet(Buffer.concat([Buffer.from([COM.STMT_EXECUTE]), u32(1), Buffer.from([0x01]), u32(1)]), 0));
    s.core.serverBytes(Buffer.concat([packet(Buffer.from([1]), 1), packet(encodeColumnDefinition(column('email')), 2), packet(encodeOk({ status: 0x42 }, true), 3)]));
    s.core.clientBytes(fetch(1, 1));
    s.core.serverBytes(Buffer.concat([packet(binaryRow('ada@example.com'), 1), packet(encodeOk({ status: 0x42 }, true), 2)]));
    s.core.clientBytes(fetch(1, 1));
    s.core.serverBytes(Buffer.concat([packet(binaryRow('bob@example.org'), 1), packet(encodeOk({ status: 0x42 }, true), 2)]));
    s.core.clientBytes(fetch(1, 1));
    // Exhausted: LAST_ROW_SENT, no CURSOR_EXISTS; the cursor is closed.
    s.core.serverBytes(packet(encodeOk({ status: 0x82 }, true), 1));
    s.core.clientBytes(fetch(1, 1));
    s.core.clientBytes(fetch(9, 1));
    await settle();
    expect(payloads(s.toServer).map((p) => p.payload[0])).toEqual([COM.STMT_PREPARE, COM.STMT_EXECUTE, COM.STMT_FETCH, COM.STMT_FETCH, COM.STMT_FETCH]);
    const out = payloads(s.toClient);
    // Binary rows: header 0, an empty NULL bitmap, one length-prefixed string.
    const rows = out.filter((p) => p.payload[0] === 0x00 && p.payload[1] === 0x00 && p.payload[2] === p.payload.length - 3).map((p) => parseBinaryRow(p.payload, [TYPE.VAR_STRING])[0]?.subarray(1).toString());
    expect(rows).toEqual(['a**@example.com', 'b**@example.org']);
    expect(out.slice(-2).map((p) => parseErr(p.payload))).toMatchObject([
      { code: 1421, message: 'The statement (1) has no open cursor.' },
      { code: 1243, message: 'Unknown prepared statement handler (9) given to mysqld_stmt_fetch' },
    ]);
    const statements = s.records.filter((r) => r.type === 'mysql.statement').map((r) => [r.data['tag'], r.data['rows']]);
    expect(statements.slice(1)).toEqual([['CURSOR OPEN', undefined], ['FETCH 1', [['a**@example.com']]], ['FETCH 1', [['b**@example.org']]], ['FETCH 0', undefined]]);
    expect(s.failures).toEqual([]);
  });
});
