import { afterEach, describe, expect, it } from 'vitest';
import type { BackendMessage } from '../src/backend-messages.js';
import { serializeBackend } from '../src/backend-serialize.js';
import type { Parsed } from '../src/frontend-messages.js';
import { serializeFrontend, sslRequest, startupMessage, query } from '../src/frontend-serialize.js';
import { strip } from './support/bytes.js';
import { expectKind, RawConnection } from './support/raw-connection.js';

// The machine's PostgreSQL 15, trust authentication for user postgres.
const PORT = 5432;
const open: RawConnection[] = [];

async function connect(): Promise<{ conn: RawConnection; startup: Parsed<BackendMessage>[] }> {
  const conn = await RawConnection.connect(PORT);
  open.push(conn);
  conn.send(startupMessage({ user: 'postgres', database: 'postgres', application_name: 'gw-protocol-test' }));
  const startup = await conn.until('ReadyForQuery');
  return { conn, startup };
}

/** Our serializer must reproduce the server's own bytes exactly, or re-encoding would alter traffic. */
function expectReencodesIdentically(messages: Parsed<BackendMessage>[]): void {
  for (const m of messages) expect(serializeBackend(strip(m) as BackendMessage)).toEqual(m.raw);
}

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('against the real PostgreSQL at 127.0.0.1:5432', () => {
  it('completes the startup written by our serializer', async () => {
    const { startup } = await connect();
    expect(startup[0]?.kind).toBe('AuthenticationOk');
    const params = new Map(
      startup.flatMap((m) => (m.kind === 'ParameterStatus' ? [[m.name, m.value] as const] : [])),
    );
    expect(params.get('application_name')).toBe('gw-protocol-test');
    expect(params.get('server_encoding')).toBe('UTF8');
    const key = expectKind(startup.find((m) => m.kind === 'BackendKeyData'), 'BackendKeyData');
    expect(key.processId).toBeGreaterThan(0);
    expect(key.secretKey).toHaveLength(4);
    expect(expectKind(startup.at(-1), 'ReadyForQuery').status).toBe('I');
    expectReencodesIdentically(startup);
  });

  it('runs a simple Query with NULL, empty and multibyte values, errors and an empty query', async () => {
    const { conn } = await connect();
    conn.send(query("select 1 as one, null::text as n, ''::text as e, 'žluťoučký 🐎'::text as u"));
    const answer = await conn.until('ReadyForQuery');
    expect(answer.map((m) => m.kind)).toEqual(['RowDescription', 'DataRow', 'CommandComplete', 'ReadyForQuery']);
    const desc = expectKind(answer[0], 'RowDescription');
    expect(desc.fields.map((f) => [f.name, f.typeOid, f.format])).toEqual([
      ['one', 23, 0],
      ['n', 25, 0],
      ['e', 25, 0],
      ['u', 25, 0],
    ]);
    const row = expectKind(answer[1], 'DataRow');
    expect(row.values.map((v) => v?.toString('utf8') ?? null)).toEqual(['1', null, '', 'žluťoučký 🐎']);
    expect(expectKind(answer[2], 'CommandComplete').tag).toBe('SELECT 1');
    expectReencodesIdentically(answer);

    conn.send(query('select 1; select * from gw_no_such_table_x'));
    const failed = await conn.until('ReadyForQuery');
    const err = expectKind(failed.find((m) => m.kind === 'ErrorResponse'), 'ErrorResponse');
    expect(err.fields).toMatchObject({ severity: 'ERROR', severityNonLocalized: 'ERROR', code: '42P01', position: '25' });
    expect(err.fields.message).toContain('gw_no_such_table_x');
    expect(err.fields.file).toBeTruthy();
    expectReencodesIdentically(failed);

    conn.send(query(''));
    expect((await conn.until('ReadyForQuery')).map((m) => m.kind)).toEqual(['EmptyQueryResponse', 'ReadyForQuery']);
  });

  it('runs Parse/Bind/Describe/Execute/Sync with binary parameters and results', async () => {
    const { conn } = await connect();
    const int4 = Buffer.alloc(4);
    int4.writeInt32BE(41);
    conn.send(
      serializeFrontend({ kind: 'Parse', statement: 'gw_s1', sql: 'select $1::int4 + 1 as n, $2::text as t, $3::text as z', paramTypes: [23, 25, 25] }),
      serializeFrontend({ kind: 'Describe', target: 'S', name: 'gw_s1' }),
      serializeFrontend({
        kind: 'Bind',
        portal: 'gw_p1',
        statement: 'gw_s1',
        paramFormats: [1, 0, 0],
        params: [int4, Buffer.from('ünï'), null],
        resultFormats: [1],
      }),
      serializeFrontend({ kind: 'Describe', target: 'P', name: 'gw_p1' }),
      serializeFrontend({ kind: 'Execute', portal: 'gw_p1', maxRows: 0 }),
      serializeFrontend({ kind: 'Close', target: 'S', name: 'gw_s1' }),
      serializeFrontend({ kind: 'Sync' }),
    );
    const answer = await conn.until('ReadyForQuery');
    expect(answer.map((m) => m.kind)).toEqual([
      'ParseComplete',
      'ParameterDescription',
      'RowDescription',
      'BindComplete',
      'RowDescription',
      'DataRow',
      'CommandComplete',
      'CloseComplete',
      'ReadyForQuery',
    ]);
    expect(expectKind(answer[1], 'ParameterDescription').typeOids).toEqual([23, 25, 25]);
    expect(expectKind(answer[4], 'RowDescription').fields.map((f) => f.format)).toEqual([1, 1, 1]);
    const row = expectKind(answer[5], 'DataRow');
    expect(row.values[0]!.readInt32BE(0)).toBe(42);
    expect(row.values[1]!.toString('utf8')).toBe('ünï');
    expect(row.values[2]).toBeNull();
    expectReencodesIdentically(answer);

    // Row limit on Execute: the portal is suspended after one row.
    conn.send(
      serializeFrontend({ kind: 'Parse', statement: '', sql: 'select generate_series(1, 3)', paramTypes: [] }),
      serializeFrontend({ kind: 'Bind', portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }),
      serializeFrontend({ kind: 'Execute', portal: '', maxRows: 1 }),
      serializeFrontend({ kind: 'Sync' }),
    );
    expect((await conn.until('ReadyForQuery')).map((m) => m.kind)).toEqual([
      'ParseComplete',
      'BindComplete',
      'DataRow',
      'PortalSuspended',
      'ReadyForQuery',
    ]);
  });

  it('copies data in with COPY FROM STDIN and out with COPY TO STDOUT', async () => {
    const { conn } = await connect();
    conn.send(query('create temp table gw_copy (id int, name text)'));
    await conn.until('ReadyForQuery');

    conn.send(query('copy gw_copy from stdin'));
    const copyIn = expectKind(await conn.next(), 'CopyInResponse');
    expect(copyIn.format).toBe(0);
    expect(copyIn.columnFormats).toEqual([0, 0]);
    // Rows split across CopyData boundaries on purpose: COPY data is a byte stream.
    conn.send(
      serializeFrontend({ kind: 'CopyData', data: Buffer.from('1\tAlice\n2\tBo') }),
      serializeFrontend({ kind: 'CopyData', data: Buffer.from('b\n3\t\\N\n4\tŽofie\n') }),
      serializeFrontend({ kind: 'CopyDone' }),
    );
    const done = await conn.until('ReadyForQuery');
    expect(expectKind(done[0], 'CommandComplete').tag).toBe('COPY 4');

    conn.send(query('copy (select * from gw_copy order by id) to stdout'));
    const out = await conn.until('ReadyForQuery');
    expect(out[0]?.kind).toBe('CopyOutResponse');
    const data = Buffer.concat(out.flatMap((m) => (m.kind === 'CopyData' ? [m.data] : []))).toString('utf8');
    expect(data).toBe('1\tAlice\n2\tBob\n3\t\\N\n4\tŽofie\n');
    expect(out.map((m) => m.kind).slice(-3)).toEqual(['CopyDone', 'CommandComplete', 'ReadyForQuery']);
    expect(expectKind(out.at(-2), 'CommandComplete').tag).toBe('COPY 4');
    expectReencodesIdentically(out);

    conn.send(query('copy gw_copy from stdin'));
    await conn.until('CopyInResponse');
    conn.send(serializeFrontend({ kind: 'CopyFail', message: 'gateway refused the upload' }));
    const failed = await conn.until('ReadyForQuery');
    const err = expectKind(failed[0], 'ErrorResponse');
    expect(err.fields.code).toBe('57014');
    expect(err.fields.message).toContain('gateway refused the upload');
  });

  it('receives a NotificationResponse and a NoticeResponse', async () => {
    const { conn } = await connect();
    conn.send(query("listen gw_chan; notify gw_chan, 'hello ü'; do $$ begin raise notice 'masked %', 1; end $$"));
    const answer = await conn.until('ReadyForQuery');
    const note = expectKind(answer.find((m) => m.kind === 'NotificationResponse'), 'NotificationResponse');
    expect([note.channel, note.payload]).toEqual(['gw_chan', 'hello ü']);
    const notice = expectKind(answer.find((m) => m.kind === 'NoticeResponse'), 'NoticeResponse');
    expect(notice.fields).toMatchObject({ severity: 'NOTICE', code: '00000', message: 'masked 1' });
    expectReencodesIdentically(answer);
  });

  it('cancels a running query with a CancelRequest built from BackendKeyData', async () => {
    const { conn, startup } = await connect();
    const key = expectKind(startup.find((m) => m.kind === 'BackendKeyData'), 'BackendKeyData');
    conn.send(query('select pg_sleep(20)'));
    // Cancel only once the sleep is running: a cancel that arrives earlier is silently ignored.
    const { conn: watcher } = await connect();
    for (let tries = 0; ; tries++) {
      watcher.send(query(`select count(*) from pg_stat_activity where pid = ${key.processId} and state = 'active'`));
      const row = expectKind((await watcher.until('ReadyForQuery')).find((m) => m.kind === 'DataRow'), 'DataRow');
      if (row.values[0]?.toString() === '1') break;
      if (tries > 100) throw new Error('the query never became active');
      await new Promise((r) => setTimeout(r, 50));
    }
    const canceller = await RawConnection.connect(PORT);
    open.push(canceller);
    canceller.send(serializeFrontend({ kind: 'CancelRequest', processId: key.processId, secretKey: key.secretKey }));
    const answer = await conn.until('ReadyForQuery');
    expect(expectKind(answer.find((m) => m.kind === 'ErrorResponse'), 'ErrorResponse').fields.code).toBe('57014');
    expect(answer.some((m) => m.kind === 'DataRow')).toBe(false);
  });

  it('reads the unframed answer to an SSLRequest', async () => {
    const conn = await RawConnection.connect(PORT);
    open.push(conn);
    conn.parser.expectEncryptionResponse();
    conn.send(sslRequest());
    const answer = expectKind(await conn.next(), 'EncryptionResponse');
    expect(['S', 'N']).toContain(answer.answer);
    if (answer.answer === 'N') {
      conn.send(startupMessage({ user: 'postgres', database: 'postgres' }));
      expect((await conn.next()).kind).toBe('AuthenticationOk');
    }
  });

  it('gets a FATAL ErrorResponse for an unknown database and terminates cleanly', async () => {
    const conn = await RawConnection.connect(PORT);
    open.push(conn);
    conn.send(startupMessage({ user: 'postgres', database: 'gw_no_such_db_x' }));
    // Trust authentication succeeds first; the database check comes after it.
    const err = expectKind((await conn.until('ErrorResponse')).at(-1), 'ErrorResponse');
    expect(err.fields).toMatchObject({ severity: 'FATAL', code: '3D000' });
    await expect(conn.next(5_000)).rejects.toThrow(/closed/);
    const { conn: ok } = await connect();
    ok.send(serializeFrontend({ kind: 'Terminate' }));
    await expect(ok.next(5_000)).rejects.toThrow(/closed/);
  });
});
