import { EventEmitter } from 'node:events';
import {
  BackendParser,
  FrontendParser,
  dataRow,
  query,
  readyForQuery,
  serializeBackend,
  serializeFrontend,
} from '@gw/protocol-postgres';
import { loadSqlParser } from '@gw/sql';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryRecorder, sessionOptions } from '../../../test/support/pg-session-fixture.js';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { PgSessionCore, type ClientPort, type ServerPort } from './pg-session-core.js';

/*
 * The session core fed bytes directly, no streams and no sockets: however the client's and the
 * database's bytes are cut into chunks, what reaches each side and what is recorded is the same.
 */


function port(): ClientPort & ServerPort & { out: Buffer[]; ended: boolean } {
  const events = new EventEmitter();
  const p = {
    out: [] as Buffer[],
    ended: false,
    destroyed: false,
    writableEnded: false,
    write: (bytes: Buffer) => {
      p.out.push(Buffer.from(bytes));
      return true;
    },
    cork: () => undefined,
    uncork: () => undefined,
    end: () => {
      p.ended = true;
    },
    destroy: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    once: (event: 'drain', listener: () => void) => events.once(event, listener),
  };
  return p;
}

function session(policy?: string) {
  const client = port();
  const server = port();
  const { recorder, records } = memoryRecorder();
  const options = sessionOptions(recorder);
  if (policy) options.policy = new PolicyHolder(() => ({ version: 1, sha256: 'x', text: policy }), pino({ level: 'silent' }));
  const core = new PgSessionCore({ ...options, client, server });
  core.start();
  return { core, client, server, records };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

const clientStream = Buffer.concat([
  query('SELECT email FROM customers'),
  serializeFrontend({ kind: 'Parse', statement: '', sql: 'SELECT email FROM customers WHERE id = $1', paramTypes: [] }),
  serializeFrontend({ kind: 'Bind', portal: '', statement: '', paramFormats: [], params: [Buffer.from('7')], resultFormats: [] }),
  serializeFrontend({ kind: 'Describe', target: 'P', name: '' }),
  serializeFrontend({ kind: 'Execute', portal: '', maxRows: 0 }),
  serializeFrontend({ kind: 'Sync' }),
]);
const emailField = { name: 'email', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 as const };
const serverStream = Buffer.concat([
  serializeBackend({ kind: 'RowDescription', fields: [emailField] }),
  dataRow([Buffer.from('alice@example.com')]),
  serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
  readyForQuery('I'),
  serializeBackend({ kind: 'ParseComplete' }),
  serializeBackend({ kind: 'BindComplete' }),
  serializeBackend({ kind: 'RowDescription', fields: [emailField] }),
  dataRow([Buffer.from('bob@example.org')]),
  serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
  readyForQuery('I'),
]);

async function run(clientCut: number, serverCut: number) {
  const s = session();
  s.core.clientBytes(clientStream.subarray(0, clientCut));
  s.core.clientBytes(clientStream.subarray(clientCut));
  await settle();
  s.core.serverBytes(serverStream.subarray(0, serverCut));
  await settle();
  s.core.serverBytes(serverStream.subarray(serverCut));
  await settle();
  await settle();
  const result = {
    toServer: Buffer.concat(s.server.out).toString('latin1'),
    toClient: Buffer.concat(s.client.out).toString('latin1'),
    records: s.records.filter((r) => r.type === 'pg.statement').map((r) => ({ text: r.data['text'], rowCount: r.data['rowCount'], rows: r.data['rows'] })),
  };
  s.core.end('test over');
  return result;
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('PgSessionCore fed bytes (no sockets)', () => {
  it('relays, masks and records the same whatever the cut of the client and database streams', async () => {
    const whole = await run(clientStream.length, serverStream.length);
    // The statements went to the database as the client sent them (the extended ones with the
    // Describe the core adds to learn the result's shape before Execute).
    expect(whole.toServer).toContain('SELECT email FROM customers WHERE id = $1');
    expect(whole.toClient).not.toContain('alice@example.com');
    expect(whole.toClient).not.toContain('bob@example.org');
    expect(whole.records).toHaveLength(2);
    expect(whole.records.map((r) => r.rowCount)).toEqual([1, 1]);
    for (let cut = 0; cut <= clientStream.length; cut += 1) {
      expect(await run(cut, serverStream.length)).toEqual(whole);
    }
    for (let cut = 0; cut <= serverStream.length; cut += 1) {
      expect(await run(clientStream.length, cut)).toEqual(whole);
    }
  });

  it('decides a Parse that declares a user type for a parameter as converting to it: procedural unless the session knows the type as safe', async () => {
    const parse = (paramTypes: number[]) => serializeFrontend({ kind: 'Parse', statement: '', sql: 'SELECT $1 AS v', paramTypes });
    const sentFor = async (paramTypes: number[], safeUserTypes: ReadonlySet<string>) => {
      const client = port();
      const server = port();
      const options = sessionOptions(memoryRecorder().recorder);
      const core = new PgSessionCore({ ...options, policyContext: { ...options.policyContext, safeUserTypes }, client, server });
      core.start();
      core.clientBytes(parse(paramTypes));
      await settle();
      core.end('test over');
      return new FrontendParser({ startupDone: true }).parseAll(Buffer.concat(server.out))[0];
    };
    // Built-in parameter types (int8, text) and a user type the session knows as an enum pass as sent.
    expect(await sentFor([20, 25], new Set())).toMatchObject({ kind: 'Parse', sql: 'SELECT $1 AS v' });
    expect(await sentFor([50001], new Set(['oid:50001']))).toMatchObject({ kind: 'Parse', sql: 'SELECT $1 AS v' });
    // Any other user type (a domain whose CHECK runs at Bind) is refused: the policy permits no sql:procedural.
    expect(await sentFor([50002], new Set(['oid:50001']))).toMatchObject({ kind: 'Parse', sql: expect.stringMatching(/^GW_DENIED_/) });
  });

  it('replaces a denied statement by a marker the database refuses, at every cut of the client stream', async () => {
    const denied = query('DELETE FROM customers');
    for (let cut = 0; cut <= denied.length; cut++) {
      const s = session();
      s.core.clientBytes(denied.subarray(0, cut));
      s.core.clientBytes(denied.subarray(cut));
      await settle();
      const sent = new FrontendParser({ startupDone: true }).parseAll(Buffer.concat(s.server.out));
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ kind: 'Query', sql: expect.stringMatching(/^GW_DENIED_[0-9a-f]{16}$/) });
      s.core.end('test over');
    }
  });

  it('ends the session with 08P01 on a malformed client frame and sends nothing of it to the database', async () => {
    const s = session();
    s.core.clientBytes(Buffer.from([0x51, 0, 0, 0, 2]));
    await settle();
    expect(s.server.out).toHaveLength(0);
    expect(new BackendParser().parseAll(Buffer.concat(s.client.out))).toMatchObject([{ kind: 'ErrorResponse', fields: { severity: 'FATAL', code: '08P01' } }]);
    expect(s.core.isEnded).toBe(true);
  });

  it('masks what the database sends besides rows: notices, reported settings and notifications, also while idle', async () => {
    const s = session();
    // Idle (no statement): a notification another session sent, a setting report.
    s.core.serverBytes(Buffer.concat([
      serializeBackend({ kind: 'NotificationResponse', processId: 9, channel: 'c', payload: 'to alice@example.com' }),
      serializeBackend({ kind: 'ParameterStatus', name: 'application_name', value: 'alice@example.com' }),
    ]));
    await settle();
    s.core.clientBytes(query('SELECT audited_read()'));
    await settle();
    // During the statement: a function's notice (message, detail, a field of a code this version does not know).
    s.core.serverBytes(Buffer.concat([
      serializeBackend({ kind: 'NoticeResponse', fields: { severity: 'NOTICE', code: '00000', message: 'for alice@example.com', detail: 'bob@example.org', unknown: [{ code: 'Z', value: 'carol@example.net' }] } }),
      serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 0' }),
      readyForQuery('I'),
    ]));
    await settle();
    const toClient = new BackendParser().parseAll(Buffer.concat(s.client.out));
    expect(toClient).toMatchObject([
      { kind: 'NotificationResponse', payload: 'to *****@*******.***' },
      { kind: 'ParameterStatus', name: 'application_name', value: '*****@*******.***' },
      { kind: 'NoticeResponse', fields: { message: 'for *****@*******.***', detail: '***@*******.***', unknown: [{ code: 'Z', value: '*****@*******.***' }] } },
      { kind: 'CommandComplete' },
      { kind: 'ReadyForQuery' },
    ]);
    s.core.end('test over');
  });

  it('a CLOSE forgets only the cursor declarations made before it: a redeclaration pipelined behind it keeps its masking', async () => {
    // Only reads of customers are masked: a FETCH decided without the emails' cursor would not be.
    const s = session(`
      @id("customers") @mask("email:full")
      permit (principal, action in Gateway::Action::"sql:read", resource) when { context has tables && context.tables.contains("customers") };
      @id("other-reads")
      permit (principal, action in [Gateway::Action::"sql:read", Gateway::Action::"sql:session"], resource) unless { context has tables && context.tables.contains("customers") };`);
    const answer = async (...messages: Buffer[]) => {
      s.core.serverBytes(Buffer.concat(messages));
      await settle();
    };
    const emailRows = async () => {
      s.core.clientBytes(query('FETCH ALL FROM c'));
      await settle();
      await answer(serializeBackend({ kind: 'RowDescription', fields: [emailField] }), dataRow([Buffer.from('alice@example.com')]), serializeBackend({ kind: 'CommandComplete', tag: 'FETCH 1' }), readyForQuery('I'));
    };
    s.core.clientBytes(query('DECLARE c CURSOR WITH HOLD FOR SELECT 1 AS n'));
    await settle();
    await answer(serializeBackend({ kind: 'CommandComplete', tag: 'DECLARE CURSOR' }), readyForQuery('I'));
    // Pipelined: CLOSE c, then c declared again for the emails, before the CLOSE's answer is back.
    s.core.clientBytes(Buffer.concat([query('CLOSE c'), query('DECLARE c CURSOR WITH HOLD FOR SELECT email FROM customers')]));
    await settle();
    await answer(serializeBackend({ kind: 'CommandComplete', tag: 'CLOSE CURSOR' }), readyForQuery('I'));
    // Declared after the CLOSE's answer, refused by the server: the name is taken by the emails' cursor.
    s.core.clientBytes(query('DECLARE c CURSOR WITH HOLD FOR SELECT 1 AS email'));
    await settle();
    await answer(serializeBackend({ kind: 'CommandComplete', tag: 'DECLARE CURSOR' }), readyForQuery('I'));
    await answer(serializeBackend({ kind: 'ErrorResponse', fields: { severity: 'ERROR', code: '42P03', message: 'cursor "c" already exists' } }), readyForQuery('I'));
    // A transaction ending does not end a cursor WITH HOLD either.
    await emailRows();
    // Every statement was allowed (none was replaced by a refusal the fake server would not answer).
    expect(s.records.map((r) => r.data['decision'])).toEqual(['allow', 'allow', 'allow', 'allow', 'allow']);
    const toClient = Buffer.concat(s.client.out).toString('latin1');
    expect(toClient).toContain('*****@*******.***');
    expect(toClient).not.toContain('alice@example.com');
    s.core.end('test over');
  });

  it('forgets portals and cursors without HOLD once the server is idle again, and only those sent before', async () => {
    const s = session();
    const bindTo = (portal: string) => serializeFrontend({ kind: 'Bind', portal, statement: '', paramFormats: [], params: [], resultFormats: [] });
    s.core.clientBytes(Buffer.concat([
      query('BEGIN'),
      serializeFrontend({ kind: 'Parse', statement: '', sql: 'SELECT email FROM customers', paramTypes: [] }),
      bindTo('C_1'),
      serializeFrontend({ kind: 'Sync' }),
      query('DECLARE plain CURSOR FOR SELECT email FROM customers; DECLARE kept CURSOR WITH HOLD FOR SELECT email FROM customers; COMMIT'),
    ]));
    await settle();
    expect(s.core.cursorDeclarations).toBe(3);
    // BEGIN's and the Sync's answers: still in the transaction, nothing is forgotten.
    s.core.serverBytes(Buffer.concat([
      serializeBackend({ kind: 'CommandComplete', tag: 'BEGIN' }), readyForQuery('T'),
      serializeBackend({ kind: 'ParseComplete' }), serializeBackend({ kind: 'BindComplete' }), readyForQuery('T'),
    ]));
    await settle();
    expect(s.core.cursorDeclarations).toBe(3);
    s.core.serverBytes(Buffer.concat([
      serializeBackend({ kind: 'CommandComplete', tag: 'DECLARE CURSOR' }),
      serializeBackend({ kind: 'CommandComplete', tag: 'DECLARE CURSOR' }),
      serializeBackend({ kind: 'CommandComplete', tag: 'COMMIT' }),
      readyForQuery('I'),
    ]));
    await settle();
    // The portal and the cursor without HOLD ended with the transaction; the one WITH HOLD stays.
    expect(s.core.cursorDeclarations).toBe(1);
    s.core.end('test over');
  });

  it('masks the result of a fast-path function call (lo_read) like bytea; a denied call gets the session masking', async () => {
    const s = session();
    s.core.clientBytes(serializeFrontend({ kind: 'FunctionCall', functionOid: 954, argFormats: [], args: [], resultFormat: 1 }));
    await settle();
    s.core.serverBytes(Buffer.concat([serializeBackend({ kind: 'FunctionCallResponse', result: Buffer.from('mail alice@example.com') }), readyForQuery('I')]));
    await settle();
    // The fixture policy permits reads only (the call is denied): an answer the database should not
    // have sent is masked with what the session may read.
    const toClient = new BackendParser().parseAll(Buffer.concat(s.client.out));
    expect(toClient[0]).toMatchObject({ kind: 'FunctionCallResponse', result: Buffer.from('mail *****@*******.***') });
    s.core.end('test over');
  });

  it('refuses a binary COPY TO when masking applies, before the database sees it; text COPY goes through', async () => {
    for (const sql of ['COPY customers TO STDOUT (FORMAT binary)', 'COPY (SELECT email FROM customers) TO STDOUT BINARY']) {
      const s = session();
      s.core.clientBytes(query(sql));
      await settle();
      const sent = new FrontendParser({ startupDone: true }).parseAll(Buffer.concat(s.server.out));
      expect(sent[0]).toMatchObject({ kind: 'Query', sql: expect.stringMatching(/^GW_DENIED_/) });
      s.core.end('test over');
    }
    const s = session();
    s.core.clientBytes(query('COPY customers TO STDOUT (FORMAT csv)'));
    await settle();
    expect(new FrontendParser({ startupDone: true }).parseAll(Buffer.concat(s.server.out))[0]).toMatchObject({ kind: 'Query', sql: 'COPY customers TO STDOUT (FORMAT csv)' });
    s.core.end('test over');
  });
});
