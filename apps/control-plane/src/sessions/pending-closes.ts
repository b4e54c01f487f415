import { Injectable } from '@nestjs/common';
import { loggerFor } from '../common/logger.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * The end of a session is written (its row closed, its audit event appended) even when Postgres is
 * down at that moment: a failed write is retried with backoff until it lands, so the session does
 * not stay `active` forever. If this replica dies first, the stale-session sweep of another replica
 * closes the row instead.
 */
@Injectable()
export class PendingCloses {
  private readonly log = loggerFor(PendingCloses);
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** Runs `write` now; on failure retries it in the background. Never throws. */
  async run(sessionId: string, write: () => Promise<void>): Promise<void> {
    await this.attempt(sessionId, write, FIRST_RETRY_MS);
  }

  /** Sessions whose end is written but not yet stored. */
  has(sessionId: string): boolean {
    return this.pending.has(sessionId);
  }

  get size(): number {
    return this.pending.size;
  }

  private async attempt(sessionId: string, write: () => Promise<void>, nextDelayMs: number): Promise<void> {
    try {
      await write();
      this.pending.delete(sessionId);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, sessionId, retryInMs: nextDelayMs }, 'writing the end of a session failed; retrying');
      const timer = setTimeout(() => void this.attempt(sessionId, write, Math.min(nextDelayMs * 2, MAX_RETRY_MS)), nextDelayMs);
      timer.unref();
      this.pending.set(sessionId, timer);
    }
  }
}
