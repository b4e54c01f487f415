import type { Logger } from 'pino';
import type { HeldCallsStore } from './held-calls.store.js';

/** Past the approval's expiry, a held call gets this long to run before its session is ended. */
const RUN_GRACE_MS = 60_000;

/**
 * Keeps a held tool call on this replica until it has run or can no longer run, then stores its
 * outcome (already masked by the agent, or by the endpoint for SSH) for `wait_for_approval`. The
 * session record is closed in every case; a session still open past the approval's expiry plus a
 * grace period is ended (the agent then refuses what it still holds).
 */
export function keepHeldCall<T>(opts: {
  store: HeldCallsStore;
  approvalId: string;
  /** Resolves once the hold row exists, so the outcome can never be stored before it. */
  recorded: Promise<void>;
  completion: Promise<T>;
  expiresAt: Date;
  toResult: (outcome: T) => { status: 'completed' | 'failed'; result: Record<string, unknown> };
  close: () => Promise<void>;
  log: Logger;
}): void {
  const deadline = setTimeout(() => {
    opts.log.warn({ approvalId: opts.approvalId }, 'held MCP call did not finish in time; ending its session');
    void opts.close();
  }, Math.max(0, opts.expiresAt.getTime() - Date.now()) + RUN_GRACE_MS);
  deadline.unref();
  const run = async () => {
    try {
      const outcome = await opts.completion;
      const { status, result } = opts.toResult(outcome);
      await opts.recorded;
      await opts.store.finish(opts.approvalId, status, result);
    } catch (error) {
      opts.log.error({ err: error, approvalId: opts.approvalId }, 'held MCP call failed');
      await opts.recorded.catch(() => undefined);
      await opts.store.finish(opts.approvalId, 'failed', { error: 'resource_error', message: 'the held call failed in the gateway; it may not have run' }).catch(() => undefined);
    } finally {
      clearTimeout(deadline);
      await opts.close().catch((err: unknown) => opts.log.warn({ err }, 'closing a held MCP session failed'));
    }
  };
  void run();
}
