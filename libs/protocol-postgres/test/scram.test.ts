import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/errors.js';
import { query, saslInitialResponse, saslResponse, startupMessage } from '../src/frontend-serialize.js';
import { SCRAM_SHA_256, ScramSha256Client } from '../src/scram.js';
import { expectKind, RawConnection } from './support/raw-connection.js';
import { startScramCluster, type Cluster } from './support/throwaway-cluster.js';

let cluster: Cluster;
const open: RawConnection[] = [];

beforeAll(async () => {
  cluster = await startScramCluster();
});

afterAll(async () => {
  for (const c of open.splice(0)) c.close();
  await cluster?.stop();
});

/** Startup + SCRAM exchange driven only by this library; returns the connection once ReadyForQuery. */
async function login(user: string, password: string): Promise<RawConnection> {
  const conn = await RawConnection.connect(cluster.port);
  open.push(conn);
  conn.send(startupMessage({ user, database: 'postgres' }));
  const offer = expectKind(await conn.next(), 'AuthenticationSASL');
  expect(offer.mechanisms).toContain(SCRAM_SHA_256);

  const scram = new ScramSha256Client({ password });
  conn.send(saslInitialResponse(SCRAM_SHA_256, Buffer.from(scram.clientFirstMessage())));
  const serverFirst = await conn.next();
  if (serverFirst.kind === 'ErrorResponse') throw new Error(`${serverFirst.fields.code ?? ''}: ${serverFirst.fields.message ?? ''}`);
  const cont = expectKind(serverFirst, 'AuthenticationSASLContinue');
  conn.send(saslResponse(Buffer.from(scram.handleServerFirst(cont.data))));

  const serverFinal = await conn.next();
  if (serverFinal.kind === 'ErrorResponse') throw new Error(`${serverFinal.fields.code ?? ''}: ${serverFinal.fields.message ?? ''}`);
  scram.verifyServerFinal(expectKind(serverFinal, 'AuthenticationSASLFinal').data);
  expect(scram.finished).toBe(true);
  expect((await conn.next()).kind).toBe('AuthenticationOk');
  await conn.until('ReadyForQuery');
  return conn;
}

async function command(conn: RawConnection, sql: string): Promise<string> {
  conn.send(query(sql));
  const answer = await conn.until('ReadyForQuery');
  const err = answer.find((m) => m.kind === 'ErrorResponse');
  if (err?.kind === 'ErrorResponse') throw new Error(err.fields.message);
  return expectKind(answer.find((m) => m.kind === 'CommandComplete'), 'CommandComplete').tag;
}

async function scalar(conn: RawConnection, sql: string): Promise<string | null> {
  conn.send(query(sql));
  const answer = await conn.until('ReadyForQuery');
  const err = answer.find((m) => m.kind === 'ErrorResponse');
  if (err?.kind === 'ErrorResponse') throw new Error(err.fields.message);
  const row = expectKind(answer.find((m) => m.kind === 'DataRow'), 'DataRow');
  return row.values[0]?.toString('utf8') ?? null;
}

describe('SCRAM-SHA-256 against a throwaway PostgreSQL 15 cluster', () => {
  it('logs in as the superuser and as a freshly created role, and the server proves itself', async () => {
    const admin = await login('postgres', cluster.superuserPassword);
    const rolePassword = randomBytes(18).toString('base64url');
    expect(await command(admin, `create role gw_ephemeral login password '${rolePassword}'`)).toBe('CREATE ROLE');
    expect(await scalar(admin, "select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = 'gw_ephemeral'")).toBe('t');

    const conn = await login('gw_ephemeral', rolePassword);
    expect(await scalar(conn, 'select current_user')).toBe('gw_ephemeral');
  });

  it('is refused with 28P01 for a wrong password', async () => {
    await expect(login('postgres', 'definitely-wrong')).rejects.toThrow(/28P01/);
  });

  it('fails closed when the server-final signature does not match', async () => {
    const conn = await RawConnection.connect(cluster.port);
    open.push(conn);
    conn.send(startupMessage({ user: 'postgres', database: 'postgres' }));
    expectKind(await conn.next(), 'AuthenticationSASL');
    const scram = new ScramSha256Client({ password: cluster.superuserPassword });
    conn.send(saslInitialResponse(SCRAM_SHA_256, Buffer.from(scram.clientFirstMessage())));
    const cont = expectKind(await conn.next(), 'AuthenticationSASLContinue');
    conn.send(saslResponse(Buffer.from(scram.handleServerFirst(cont.data))));
    const final = expectKind(await conn.next(), 'AuthenticationSASLFinal');
    // A forged signature (as from a server impersonating the real one) must be rejected.
    const forged = Buffer.from(final.data);
    forged[4] = forged[4] === 0x41 ? 0x42 : 0x41;
    expect(() => scram.verifyServerFinal(forged)).toThrow(ProtocolError);
  });
});
