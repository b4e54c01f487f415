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
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryRecorder, sessionOptions } from '../../../test/support/pg-session-fixture.js';
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

function session() {
  const client = port();
  const server = port();
  const { recorder, records } = memoryRecorder();
  const core = new PgSessionCore({ ...sessionOptions(recorder), client, server });
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
});
