import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { authenticate, cstr, errorCode, frame, messages, prng, rawTls, startupFrame, type RawConn } from './support/pg-raw.js';

/**
 * Malformed wire input to the gateway's Postgres port, after a real TLS upgrade. Whatever arrives, the
 * control plane and the agent keep serving, nothing reaches the data, and a connection that was never
 * authenticated never becomes a session.
 */

const SEED = 0x5eed_2026;
const PRE_AUTH_CASES = 120;
const IN_SESSION_CONNS = 8;
const FRAMES_PER_CONN = 10;
const FRONTEND_TYPES = ['Q', 'P', 'B', 'E', 'D', 'S', 'H', 'C', 'F', 'd', 'c', 'f', 'p', 'X'];

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0, 0);
  return b;
};

describe('postgres gateway robustness: malformed, out-of-order and random frames', () => {
  let fx: PgFixture;
  let sessionsBefore = 0;
  let countsBefore: { customers: number; orders: number };

  const sessionCount = async () =>
    ((await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}&limit=500`, { token: fx.stack.admin })).body as { items: unknown[] }).items.length;
  const login = () => authenticate(fx.stack.pgPort, { user: fx.role, database: fx.resource, password: fx.token });
  /** Waits for the gateway to close the connection (or gives up quietly and closes it ourselves). */
  const settle = async (c: RawConn, ms = 3000) => {
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, ms))]);
    c.destroy();
  };
  async function stillServes() {
    const c = fx.gateway();
    await c.connect();
    try {
      expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: countsBefore.orders }]);
    } finally {
      await c.end();
    }
    expect(await fx.counts()).toEqual(countsBefore);
  }

  beforeAll(async () => {
    fx = await startPgFixture('robust');
    countsBefore = await fx.counts();
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  describe('before authentication', () => {
    beforeAll(async () => {
      sessionsBefore = await sessionCount();
    });

    it('an SSLRequest with TLS bytes right behind it, then a reset connection, leaves the endpoint serving (no uncaught error)', async () => {
      for (let i = 0; i < 5; i++) {
        const socket = connect({ host: '127.0.0.1', port: fx.stack.pgPort });
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(Buffer.concat([int32(8), int32(80877103), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])]));
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.resetAndDestroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const c = await rawTls(fx.stack.pgPort);
      expect(c.isClosed()).toBe(false);
      c.destroy();
    });

    it('a Query before the startup message is refused and the connection closed', async () => {
      const c = await rawTls(fx.stack.pgPort);
      c.write(frame('Q', cstr('DELETE FROM orders')));
      await c.closed;
      expect(c.isClosed()).toBe(true);
      const code = errorCode(c.received());
      if (code !== undefined) expect(code).toMatch(/^08/);
    });

    it('a startup length field of 2 GiB is refused at once instead of buffering', async () => {
      const c = await rawTls(fx.stack.pgPort);
      const t0 = Date.now();
      c.write(Buffer.concat([int32(0x7fffffff), int32(196608), Buffer.alloc(64, 0x41)]));
      await settle(c, 3000);
      expect(c.isClosed()).toBe(true);
      expect(Date.now() - t0).toBeLessThan(3000);
    });

    it('a startup length below the minimum is refused', async () => {
      const c = await rawTls(fx.stack.pgPort);
      c.write(Buffer.concat([int32(3), int32(196608)]));
      await c.closed;
      expect(c.isClosed()).toBe(true);
    });

    it('a truncated startup message followed by EOF closes cleanly', async () => {
      const c = await rawTls(fx.stack.pgPort);
      c.write(startupFrame({ user: fx.role, database: fx.resource }).subarray(0, 20));
      c.socket.end();
      await settle(c);
      expect(c.isClosed()).toBe(true);
    });

    it('a Query instead of the password message is refused without a session', async () => {
      const c = await rawTls(fx.stack.pgPort);
      c.write(startupFrame({ user: fx.role, database: fx.resource }));
      await c.waitFor((b) => messages(b).some(([t]) => t === 'R'));
      c.write(frame('Q', cstr('DELETE FROM orders')));
      await c.closed;
      expect(errorCode(c.received())).toMatch(/^(08P01|28P01|28000)$/);
    });

    it(`${PRE_AUTH_CASES} random byte strings (seed ${SEED}) never authenticate and never crash the gateway`, async () => {
      const rnd = prng(SEED);
      for (let i = 0; i < PRE_AUTH_CASES; i++) {
        const c = await rawTls(fx.stack.pgPort);
        const len = Math.floor(rnd() * 96);
        const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
        // A third of the cases start like a real startup message so the parser goes deeper.
        const payload = i % 3 === 0 ? Buffer.concat([int32(8 + len), int32(196608), bytes]) : bytes;
        c.write(payload);
        await settle(c, 150);
        // No AuthenticationOk (R with code 0) may ever be sent for garbage.
        const ok = messages(c.received()).some(([t, body]) => t === 'R' && body.length >= 4 && body.readInt32BE(0) === 0);
        expect(ok, `case ${i}: ${payload.toString('hex')}`).toBe(false);
      }
    }, 60_000);

    it('none of the above created a session, and the gateway still serves', async () => {
      expect(await sessionCount()).toBe(sessionsBefore);
      await stillServes();
    });
  });

  describe('after authentication', () => {
    it('Bind and Execute before any Parse get an error, then the session still answers', async () => {
      const c = await login();
      const mark = c.received().length;
      c.write(
        Buffer.concat([
          frame('B', Buffer.concat([cstr(''), cstr('never_parsed'), Buffer.alloc(6)])),
          frame('E', Buffer.concat([cstr(''), int32(0)])),
          frame('S'),
        ]),
      );
      await c.waitFor((b) => messages(b.subarray(mark)).some(([t]) => t === 'Z'));
      expect(errorCode(c.received().subarray(mark))).toMatch(/^(26000|42501|34000|08P01)$/);
      const mark2 = c.received().length;
      c.write(frame('Q', cstr('SELECT 41 + 1')));
      await c.waitFor((b) => messages(b.subarray(mark2)).some(([t]) => t === 'Z'));
      expect(c.received().subarray(mark2).toString('latin1')).toContain('42');
      c.write(frame('X'));
      await settle(c);
      await stillServes();
    });

    it('a FunctionCall (fast path) to pg_terminate_backend is refused with 42501, the session still answers', async () => {
      const c = await login();
      const mark = c.received().length;
      const pid = (await fx.directQuery<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]?.pid ?? 0;
      const arg = Buffer.from(String(pid));
      // oid 2096 = pg_terminate_backend(int4, int8) in PG 15; one text argument, text result.
      const body = Buffer.concat([int32(2096), Buffer.from([0, 1, 0, 0]), Buffer.from([0, 1]), int32(arg.length), arg, Buffer.from([0, 0])]);
      c.write(frame('F', body));
      await c.waitFor((b) => messages(b.subarray(mark)).some(([t]) => t === 'Z'));
      expect(errorCode(c.received().subarray(mark))).toBe('42501');
      const mark2 = c.received().length;
      c.write(frame('Q', cstr('SELECT 41 + 1')));
      await c.waitFor((b) => messages(b.subarray(mark2)).some(([t]) => t === 'Z'));
      expect(c.received().subarray(mark2).toString('latin1')).toContain('42');
      c.write(frame('X'));
      await settle(c);
    });

    it('an oversized length field closes the session promptly with 08P01', async () => {
      const c = await login();
      const mark = c.received().length;
      const t0 = Date.now();
      c.write(Buffer.concat([Buffer.from('Q'), int32(0x7ffffff0), Buffer.from('DELETE FROM orders')]));
      await settle(c, 5000);
      expect(c.isClosed()).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5000);
      const code = errorCode(c.received().subarray(mark));
      if (code !== undefined) expect(code).toBe('08P01');
      await stillServes();
    });

    it('a frame with a length below 4 and an unknown type byte are refused', async () => {
      for (const bad of [Buffer.concat([Buffer.from('Q'), int32(2)]), frame('z', Buffer.from('??'))]) {
        const c = await login();
        c.write(bad);
        c.write(frame('Q', cstr('DELETE FROM orders')));
        await settle(c, 3000);
        expect(c.isClosed(), bad.toString('hex')).toBe(true);
      }
      await stillServes();
    });

    it('a truncated Query followed by EOF runs nothing', async () => {
      const c = await login();
      c.write(frame('Q', cstr('DELETE FROM orders')).subarray(0, 12));
      c.socket.end();
      await settle(c);
      await stillServes();
    });

    it(`${IN_SESSION_CONNS * FRAMES_PER_CONN} random frames in authenticated sessions (seed ${SEED}) change nothing and crash nothing`, async () => {
      const rnd = prng(SEED + 1);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      for (let conn = 0; conn < IN_SESSION_CONNS; conn++) {
        const c = await login();
        for (let i = 0; i < FRAMES_PER_CONN && !c.isClosed(); i++) {
          const type = rnd() < 0.9 ? pick(FRONTEND_TYPES) : String.fromCharCode(Math.floor(rnd() * 256));
          const len = Math.floor(rnd() * 48);
          const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
          // Sometimes a syntactically plausible body that still tries to delete.
          const payload = rnd() < 0.2 ? cstr('DELETE FROM orders') : body;
          let f = frame(type, payload);
          if (rnd() < 0.15) f.writeInt32BE(Math.floor(rnd() * 0x7fffffff), 1); // lying length field
          if (rnd() < 0.1) f = f.subarray(0, Math.floor(rnd() * f.length)); // truncated
          c.write(f);
          await new Promise((r) => setTimeout(r, 20));
        }
        c.write(frame('S'));
        await settle(c, 300);
        expect(await fx.counts(), `connection ${conn}`).toEqual(countsBefore);
      }
      await stillServes();
    }, 90_000);

    it('no gateway backend or ephemeral role is left behind', async () => {
      await expect
        .poll(
          async () =>
            (
              await fx.directQuery(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'gw\\_%' AND rolname <> $1 AND pg_has_role(rolname, $1, 'MEMBER')`, [fx.role])
            ).length,
          { timeout: 10_000 },
        )
        .toBe(0);
    });
  });
});
