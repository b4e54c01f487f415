import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReplicaMessageSeal } from './replica-message-seal.js';

const KEY = randomBytes(32);
const CHANNEL = 'gw:session:kill';
const BODY = JSON.stringify({ sessionId: '7d4f3c2e-0000-4000-8000-000000000001', by: { kind: 'principal', id: 'admin', displayName: 'Admin' } });

function fixture(now = 1_000_000) {
  const clock = { now };
  const seal = new ReplicaMessageSeal(KEY, { maxSkewMs: 30_000, now: () => clock.now });
  return { seal, clock };
}

/** Rewrites fields of a genuine envelope without re-MACing it (what an attacker without the key can do). */
const tamper = (sealed: string, patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(sealed), ...patch });

/** An envelope MACed correctly but under another key (another gateway, a guessed key). */
function sealedWith(key: Buffer, channel: string, body: string, t: number): string {
  const n = randomBytes(16).toString('hex');
  const m = createHmac('sha256', key).update(`gw-replica-v1\n${channel}\n${t}\n${n}\n${body}`).digest('base64url');
  return JSON.stringify({ v: 1, t, n, b: body, m });
}

describe('replica message seal', () => {
  it('a sealed message opens once on the same channel', () => {
    const { seal } = fixture();
    const sealed = seal.seal(CHANNEL, BODY);
    expect(seal.open(CHANNEL, sealed)).toEqual({ ok: true, body: BODY });
  });

  it('a replica with the same key (another process) opens it', () => {
    const a = new ReplicaMessageSeal(Buffer.from(KEY), { maxSkewMs: 30_000 });
    const b = new ReplicaMessageSeal(Buffer.from(KEY), { maxSkewMs: 30_000 });
    expect(b.open('gw:events', a.seal('gw:events', '{"x":1}'))).toEqual({ ok: true, body: '{"x":1}' });
  });

  const forgeries: Array<[string, (seal: ReplicaMessageSeal, now: number) => string, string?]> = [
    ['the plain kill JSON of before (unsigned)', () => BODY],
    ['the plain policy reload word', () => 'reload'],
    ['a plain agent id (revocation)', () => '0b9c6f0e-1111-4222-8333-444455556666'],
    ['a plain domain event', () => JSON.stringify({ id: 'e', type: 'approval.decided', occurredAt: new Date().toISOString(), data: { approval: { status: 'approved' } } })],
    ['an empty string', () => ''],
    ['not JSON', () => '{"v":1,'],
    ['a JSON array', () => '[1,2,3]'],
    ['JSON null', () => 'null'],
    ['an envelope without a MAC', (s) => tamper(s.seal(CHANNEL, BODY), { m: undefined })],
    ['an envelope with an empty MAC', (s) => tamper(s.seal(CHANNEL, BODY), { m: '' })],
    ['an envelope with a truncated MAC', (s) => { const e = JSON.parse(s.seal(CHANNEL, BODY)); return tamper(JSON.stringify(e), { m: e.m.slice(0, 20) }); }],
    ['another body under a genuine MAC', (s) => tamper(s.seal(CHANNEL, BODY), { b: BODY.replace('admin', 'attacker') })],
    ['a genuine MAC with the time moved', (s, now) => tamper(s.seal(CHANNEL, BODY), { t: now + 1 })],
    ['a genuine MAC with another nonce', (s) => tamper(s.seal(CHANNEL, BODY), { n: 'f'.repeat(32) })],
    ['a genuine message of another channel', (s) => s.seal('gw:pg:cancel', BODY)],
    ['a genuine message of another gateway prefix', (s) => s.seal('other:session:kill', BODY)],
    ['an unknown seal version', (s) => tamper(s.seal(CHANNEL, BODY), { v: 2 })],
    ['a version as a string', (s) => tamper(s.seal(CHANNEL, BODY), { v: '1' })],
    ['a non-integer time', (s) => tamper(s.seal(CHANNEL, BODY), { t: 1.5 })],
    ['a nonce that is not 128-bit hex', (s) => tamper(s.seal(CHANNEL, BODY), { n: 'x' })],
    ['a body that is an object, not a string', (s) => tamper(s.seal(CHANNEL, BODY), { b: JSON.parse(BODY) })],
    ['a message MACed with another key', (_s, now) => sealedWith(randomBytes(32), CHANNEL, BODY, now)],
    ['a message MACed with an empty key', (_s, now) => sealedWith(Buffer.alloc(0), CHANNEL, BODY, now)],
  ];

  it.each(forgeries)('drops %s', (_name, forge) => {
    const { seal, clock } = fixture();
    const result = seal.open(CHANNEL, forge(seal, clock.now));
    expect(result.ok).toBe(false);
  });

  it('drops a replay of a genuine message, however often it comes back within the window', () => {
    const { seal, clock } = fixture();
    const sealed = seal.seal(CHANNEL, BODY);
    expect(seal.open(CHANNEL, sealed).ok).toBe(true);
    for (const later of [0, 10, 5_000, 29_999]) {
      clock.now = 1_000_000 + later;
      expect(seal.open(CHANNEL, sealed)).toMatchObject({ ok: false, reason: expect.stringMatching(/replay/) });
    }
  });

  it.each([
    ['older than the window', -30_001],
    ['much older (a message recorded yesterday)', -86_400_000],
    ['from too far in the future', 30_001],
  ])('drops a genuine message %s', (_name, offset) => {
    const { seal, clock } = fixture();
    const sealed = seal.seal(CHANNEL, BODY);
    clock.now += -offset;
    expect(seal.open(CHANNEL, sealed)).toMatchObject({ ok: false, reason: expect.stringMatching(/stale|future/) });
  });

  it('accepts a genuine message within the skew window either way', () => {
    for (const offset of [-29_000, 0, 29_000]) {
      const { seal, clock } = fixture();
      const sealed = seal.seal(CHANNEL, BODY);
      clock.now += offset;
      expect(seal.open(CHANNEL, sealed).ok).toBe(true);
    }
  });

  it('forgets nonces once they are outside the window (memory stays bounded), and still refuses the old message', () => {
    const { seal, clock } = fixture();
    const sealed = seal.seal(CHANNEL, BODY);
    expect(seal.open(CHANNEL, sealed).ok).toBe(true);
    clock.now += 60_000;
    expect(seal.open(CHANNEL, seal.seal(CHANNEL, BODY)).ok).toBe(true);
    expect(seal.open(CHANNEL, sealed).ok).toBe(false);
  });

  it('refuses a key shorter than 256 bits', () => {
    expect(() => new ReplicaMessageSeal(randomBytes(16), { maxSkewMs: 1000 })).toThrow(/at least 32 bytes/);
  });
});
