import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Replica-to-replica messages on Redis pub/sub are sealed with an HMAC-SHA256 under a key that only
 * the control plane's database holds: anyone who can PUBLISH on the Redis (a workload that reached
 * it, another tenant of a shared Redis) cannot forge a kill, an approval event, a policy reload, an
 * agent revocation or a Postgres cancel. The MAC covers the channel (a message cannot be moved to
 * another channel), the send time (stale messages are dropped) and a random nonce (a message seen
 * once is not accepted again within the window).
 */
export const SEAL_VERSION = 1;
export const SEAL_KEY_BYTES = 32;

interface Envelope {
  v: number;
  /** Send time, ms since the epoch. */
  t: number;
  /** 128 random bits, hex. */
  n: string;
  /** The payload, as the publisher wrote it. */
  b: string;
  /** HMAC-SHA256, base64url. */
  m: string;
}

export type OpenResult = { ok: true; body: string } | { ok: false; reason: string };

export interface SealOptions {
  /** How far a message's time may be from ours (replica clocks differ; Redis adds latency). */
  maxSkewMs: number;
  now?: () => number;
}

export class ReplicaMessageSeal {
  private readonly now: () => number;
  /** Nonces accepted within the window, with the time they stop mattering. */
  private readonly seen = new Map<string, number>();
  private lastPrune = 0;

  constructor(private readonly key: Buffer, private readonly options: SealOptions) {
    if (key.length < SEAL_KEY_BYTES) throw new Error(`the replica message key must be at least ${SEAL_KEY_BYTES} bytes`);
    this.now = options.now ?? Date.now;
  }

  seal(channel: string, body: string): string {
    const t = this.now();
    const n = randomBytes(16).toString('hex');
    const envelope: Envelope = { v: SEAL_VERSION, t, n, b: body, m: this.mac(channel, t, n, body) };
    return JSON.stringify(envelope);
  }

  /** Fails closed: anything that is not a well-formed, correctly MACed, fresh, first-seen envelope. */
  open(channel: string, message: string): OpenResult {
    let value: unknown;
    try {
      value = JSON.parse(message);
    } catch {
      return { ok: false, reason: 'not a sealed message (not JSON)' };
    }
    if (!isEnvelope(value)) return { ok: false, reason: 'not a sealed message (no envelope)' };
    if (value.v !== SEAL_VERSION) return { ok: false, reason: `unknown seal version ${String(value.v)}` };
    const expected = Buffer.from(this.mac(channel, value.t, value.n, value.b), 'base64url');
    const given = Buffer.from(value.m, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad MAC' };
    const now = this.now();
    if (Math.abs(now - value.t) > this.options.maxSkewMs) return { ok: false, reason: `stale or future message (${now - value.t} ms old)` };
    this.prune(now);
    if (this.seen.has(value.n)) return { ok: false, reason: 'replayed message (nonce already seen)' };
    // Kept until the message could no longer pass the time check anyway.
    this.seen.set(value.n, value.t + this.options.maxSkewMs);
    return { ok: true, body: value.b };
  }

  private mac(channel: string, t: number, n: string, body: string): string {
    return createHmac('sha256', this.key).update(`gw-replica-v${SEAL_VERSION}\n${channel}\n${t}\n${n}\n${body}`).digest('base64url');
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 1000) return;
    this.lastPrune = now;
    for (const [nonce, until] of this.seen) if (until < now) this.seen.delete(nonce);
  }
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.v === 'number' && Number.isSafeInteger(e.t) && typeof e.n === 'string' && /^[0-9a-f]{32}$/.test(e.n)
    && typeof e.b === 'string' && typeof e.m === 'string';
}
