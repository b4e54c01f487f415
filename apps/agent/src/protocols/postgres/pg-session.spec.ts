import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import {
  BackendParser,
  FrontendParser,
  dataRow,
  query,
  readyForQuery,
  serializeBackend,
  serializeFrontend,
  type BackendMessage,
  type FrontendMessage,
} from '@gw/protocol-postgres';
import { loadSqlParser } from '@gw/sql';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgSession } from './pg-session.js';
import { deferred } from '../../../test/support/deferred.js';
import { memoryRecorder, sessionOptions } from '../../../test/support/pg-session-fixture.js';


/** One side of the relay: what the session writes is captured, what the test pushes is read by it. */
function endpoint() {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk);
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(written) };
}

/** Generous: the machine's 2 cores are shared with other test runs. */
const WAIT = { timeout: 5000, interval: 10 };
const sessions: PgSession[] = [];

/** How durable the n-th record becomes: at once unless a test says otherwise. */
function start(durability: (n: number) => Promise<void> = () => Promise.resolve()) {
  const client = endpoint();
  const server = endpoint();
  const { recorder, records } = memoryRecorder(durability);
  const session = new PgSession({
    ...sessionOptions(recorder),
    client: client.stream,
    upstream: server.stream as unknown as Socket,
    upstreamAddress: { host: '127.0.0.1', port: 1 },
    upstreamKey: undefined,
  });
  sessions.push(session);
  return {
    /** The client sends bytes to the agent. */
    send: (bytes: Buffer) => client.stream.push(bytes),
    /** The database answers. */
    answer: (...frames: Buffer[]) => server.stream.push(Buffer.concat(frames)),
    /** The database closes the connection. */
    closeServer: () => server.stream.destroy(),
    toServer: (): FrontendMessage[] => new FrontendParser({ startupDone: true }).parseAll(server.bytes()),
    serverBytes: server.bytes,
    toClient: (): BackendMessage[] => new BackendParser().parseAll(client.bytes()),
    clientBytes: client.bytes,
    records,
  };
}

function syntaxErrorOn(token: string): Buffer {
  return serializeBackend({ kind: 'ErrorResponse', fields: { severity: 'ERROR', code: '42601', message: `syntax error at or near "${token}"`, position: '1' } });
}

beforeAll(async () => {
  await loadSqlParser();
});

afterEach(() => {
  for (const s of sessions.splice(0)) s.end('test over');
});

describe('PgSession denial through the server', () => {
  it('replaces a denied Query by the marker and rewrites the server refusal into 42501 naming the policy', async () => {
    const s = start();
    s.send(query('DELETE FROM orders'));
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    const [sent] = s.toServer();
    expect(sent?.kind).toBe('Query');
    const marker = sent?.kind === 'Query' ? sent.sql : '';
    expect(marker).toMatch(/^GW_DENIED_[0-9a-f]{16}$/);
    expect(s.serverBytes().toString('latin1')).not.toContain('orders');

    s.answer(syntaxErrorOn(marker), readyForQuery('I'));
    await vi.waitFor(() => expect(s.toClient()).toHaveLength(2), WAIT);
    const [error, ready] = s.toClient();
    expect(error).toMatchObject({ kind: 'ErrorResponse', fields: { code: '42501', message: 'denied by policy "no-delete": deletes are not allowed' } });
    expect(ready).toMatchObject({ kind: 'ReadyForQuery', status: 'I' });
    await vi.waitFor(() => expect(s.records.find((r) => r.type === 'pg.statement')?.data).toMatchObject({ decision: 'deny', policies: ['no-delete'] }), WAIT);
  });

  it('denies a client-forged marker with a fresh nonce of its own; the client cannot learn or reuse it', async () => {
    const s = start();
    const forged = 'GW_DENIED_0000000000000000';
    s.send(query(forged));
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    const [sent] = s.toServer();
    const marker = sent?.kind === 'Query' ? sent.sql : '';
    expect(marker).toMatch(/^GW_DENIED_[0-9a-f]{16}$/);
    expect(marker).not.toBe(forged);
    s.answer(syntaxErrorOn(marker), readyForQuery('I'));
    await vi.waitFor(() => expect(s.toClient()).toHaveLength(2), WAIT);
    const [error] = s.toClient();
    expect(error).toMatchObject({ kind: 'ErrorResponse', fields: { code: '42501' } });
    // The nonce never reaches the client, so it cannot be replayed to trigger a rewrite.
    expect(s.clientBytes().toString('latin1')).not.toContain(marker);
  });

  it('forwards the server error of an allowed statement unchanged, even if it carries marker-like text', async () => {
    const s = start();
    s.send(query('SELECT 1'));
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    expect(s.toServer()[0]).toMatchObject({ kind: 'Query', sql: 'SELECT 1' });
    const real = syntaxErrorOn('GW_DENIED_0123456789abcdef');
    s.answer(real, readyForQuery('I'));
    await vi.waitFor(() => expect(s.toClient()).toHaveLength(2), WAIT);
    expect(s.toClient()[0]).toMatchObject({ kind: 'ErrorResponse', fields: { code: '42601', message: 'syntax error at or near "GW_DENIED_0123456789abcdef"' } });
  });
});

describe('PgSession masking', () => {
  it('forwards an allowed Query byte for byte and masks its result rows', async () => {
    const s = start();
    const sql = query('SELECT id, email FROM customers');
    s.send(sql);
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    expect(s.serverBytes().equals(sql)).toBe(true);
    s.answer(
      serializeBackend({
        kind: 'RowDescription',
        fields: [
          { name: 'id', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
          { name: 'email', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
        ],
      }),
      dataRow([Buffer.from('1'), Buffer.from('alice@example.com')]),
      dataRow([Buffer.from('2'), null]),
      serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 2' }),
      readyForQuery('I'),
    );
    await vi.waitFor(() => expect(s.toClient()).toHaveLength(5), WAIT);
    const rows = s.toClient().filter((m) => m.kind === 'DataRow').map((m) => m.values.map((v) => v?.toString('utf8') ?? null));
    expect(rows).toEqual([
      ['1', '*****@*******.***'],
      ['2', null],
    ]);
    await vi.waitFor(() => expect(s.records.find((r) => r.type === 'pg.statement')?.data).toMatchObject({ decision: 'allow', rowCount: 2, rows: [['1', '*****@*******.***'], ['2', null]] }), WAIT);
  });
});

const textField = { name: 't', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 as const };

/** One statement in each protocol, and the server's whole answer to it. */
const protocols = [
  {
    name: 'simple protocol (Query)',
    request: () => query("SELECT 'x' AS t"),
    answer: () => [
      serializeBackend({ kind: 'RowDescription', fields: [textField] }),
      dataRow([Buffer.from('x')]),
      serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
      readyForQuery('I'),
    ],
    /** Messages the client may get before the statement's record is durable. */
    early: ['RowDescription', 'DataRow'],
  },
  {
    name: 'extended protocol (Parse/Bind/Describe/Execute/Sync)',
    request: () => Buffer.concat([
      serializeFrontend({ kind: 'Parse', statement: '', sql: 'SELECT $1::text AS t', paramTypes: [] }),
      serializeFrontend({ kind: 'Bind', portal: '', statement: '', paramFormats: [], params: [Buffer.from('x')], resultFormats: [] }),
      serializeFrontend({ kind: 'Describe', target: 'P', name: '' }),
      serializeFrontend({ kind: 'Execute', portal: '', maxRows: 0 }),
      serializeFrontend({ kind: 'Sync' }),
    ]),
    answer: () => [
      serializeBackend({ kind: 'ParseComplete' }),
      serializeBackend({ kind: 'BindComplete' }),
      serializeBackend({ kind: 'RowDescription', fields: [textField] }),
      dataRow([Buffer.from('x')]),
      serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
      readyForQuery('I'),
    ],
    early: ['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow'],
  },
];

describe('PgSession releases a statement\'s end only once its record is durable', () => {
  it.each(protocols)('$name: rows of an earlier chunk flow at once; CommandComplete and ReadyForQuery wait for the flush, then follow in order', async ({ request, answer, early }) => {
    const flush = deferred();
    const s = start(() => flush.promise);
    s.send(request());
    await vi.waitFor(() => expect(s.toServer().length).toBeGreaterThan(0), WAIT); // the statement went to the database at once
    const messages = answer();
    s.answer(...messages.slice(0, early.length));
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual(early), WAIT);
    s.answer(...messages.slice(early.length));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.toClient().map((m) => m.kind)).toEqual(early); // still held: the record is not on disk
    expect(s.records.filter((r) => r.type === 'pg.statement')).toHaveLength(1);
    flush.resolve();
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual([...early, 'CommandComplete', 'ReadyForQuery']), WAIT);
  });

  it.each(protocols)('$name: a record that cannot be made durable ends the session with FATAL 58030, never with the result', async ({ request, answer, early }) => {
    const flush = deferred();
    const s = start(() => flush.promise);
    s.send(request());
    await vi.waitFor(() => expect(s.toServer().length).toBeGreaterThan(0), WAIT);
    const messages = answer();
    s.answer(...messages.slice(0, early.length));
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual(early), WAIT);
    s.answer(...messages.slice(early.length));
    await new Promise((resolve) => setTimeout(resolve, 20));
    flush.reject(new Error('EIO: i/o error, fdatasync'));
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual([...early, 'ErrorResponse']), WAIT);
    const fatal = s.toClient().at(-1);
    expect(fatal).toMatchObject({ kind: 'ErrorResponse', fields: { severity: 'FATAL', code: '58030' } });
    expect(fatal?.kind === 'ErrorResponse' ? fatal.fields.message : '').toMatch(/could not write the session recording to disk \(EIO.*withheld.*closed/);
  });

  it.each(protocols)('$name: rows in the same chunk as the end wait with it, and leave together once durable', async ({ request, answer, early }) => {
    const flush = deferred();
    const s = start(() => flush.promise);
    s.send(request());
    await vi.waitFor(() => expect(s.toServer().length).toBeGreaterThan(0), WAIT);
    s.answer(...answer());
    await vi.waitFor(() => expect(s.records.filter((r) => r.type === 'pg.statement')).toHaveLength(1), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.toClient()).toEqual([]); // nothing of the chunk before its record is on disk
    flush.resolve();
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual([...early, 'CommandComplete', 'ReadyForQuery']), WAIT);
  });

  it('a denied statement\'s error also waits for its record', async () => {
    const flush = deferred();
    const s = start(() => flush.promise);
    s.send(query('DELETE FROM orders'));
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    const [sent] = s.toServer();
    s.answer(syntaxErrorOn(sent?.kind === 'Query' ? sent.sql : ''), readyForQuery('I'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.toClient()).toEqual([]);
    flush.resolve();
    await vi.waitFor(() => expect(s.toClient().map((m) => m.kind)).toEqual(['ErrorResponse', 'ReadyForQuery']), WAIT);
  });

  it('a database that ends the session (its FATAL) is still heard, after the statement\'s record is durable', async () => {
    const flush = deferred();
    const s = start(() => flush.promise);
    s.send(query('SELECT pg_sleep(10)'));
    await vi.waitFor(() => expect(s.toServer()).toHaveLength(1), WAIT);
    s.answer(serializeBackend({ kind: 'ErrorResponse', fields: { severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' } }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    s.closeServer();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.toClient()).toEqual([]);
    flush.resolve();
    await vi.waitFor(() => expect(s.toClient()).toMatchObject([{ kind: 'ErrorResponse', fields: { code: '57P01' } }]), WAIT);
  });
});
