import { z } from 'zod';

/**
 * A session names another by the id the gateway gave that session's client, and asks the control
 * plane to cancel its statement or end it: `pg_cancel_backend(<pid>)` / `pg_terminate_backend(<pid>)`
 * with the pid of the gateway's BackendKeyData (what Knex's `.timeout(ms, { cancel: true })` sends),
 * and `KILL [QUERY] <connection id>` (what `mysql`'s Ctrl-C sends) when the target is not served by
 * the asking agent. The control plane resolves the id among the live sessions of every replica and
 * agent, and signals only a session of the same principal.
 */
export const SESSION_SIGNAL_EVENTS = {
  /** Agent -> CP, with ack (`SessionSignalAck`). */
  signal: 'session:signal',
  /** CP -> agent: stop the statement running in this MySQL session (`KILL QUERY` upstream); payload `{ sessionId }`. */
  mysqlKillQuery: 'mysql:kill-query',
} as const;

export const sessionSignalSchema = z.strictObject({
  /** The asking session: served by the asking agent; its principal must own the target. */
  sessionId: z.uuid(),
  /** The id as the client knows it (positive 31-bit). */
  clientKey: z.number().int().min(1).max(2 ** 31 - 1),
  /** cancel: stop the running statement; terminate: end the session. */
  action: z.enum(['cancel', 'terminate']),
});
export type SessionSignal = z.output<typeof sessionSignalSchema>;

/**
 * `signalled`: the target is live and was signalled; `unknown`: no live session of this protocol
 * (and, for MySQL, this resource) has that id; `not-owner`: it belongs to another principal.
 */
export type SessionSignalOutcome = 'signalled' | 'unknown' | 'not-owner';

export type SessionSignalAck = { ok: true; outcome: SessionSignalOutcome } | { ok: false; error: string };

/** Shown to the asking client when its session would signal another principal's. */
export const NOT_OWNER_MESSAGE = 'belongs to a session of another principal; a session may cancel or end only sessions of its own principal';
