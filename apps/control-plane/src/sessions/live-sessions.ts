import { Injectable } from '@nestjs/common';
import type { SessionKiller } from './session-kill.js';

/** What this replica can do to a session whose client it holds. */
export interface LiveSessionHandle {
  /** Ends the session; `by` is who killed it on purpose (absent for a time limit or a shutdown). */
  terminate(reason: string, by?: SessionKiller): void;
  /** Sends a control message about the session to the agent serving it (e.g. a Postgres cancel). */
  notify(event: string, payload: unknown): void;
}

/**
 * The sessions whose client connection this replica holds. Kills reach them directly when asked
 * here and through the replicas' message bus otherwise; the sweeper uses it to tell a session
 * that is really live here from a record whose closing update was lost.
 */
@Injectable()
export class LiveSessions {
  private readonly sessions = new Map<string, LiveSessionHandle>();

  register(id: string, handle: LiveSessionHandle): void {
    this.sessions.set(id, handle);
  }

  unregister(id: string): void {
    this.sessions.delete(id);
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** False when this replica does not hold the session. */
  terminate(id: string, reason: string, by?: SessionKiller): boolean {
    const handle = this.sessions.get(id);
    handle?.terminate(reason, by);
    return handle !== undefined;
  }

  notify(id: string, event: string, payload: unknown): boolean {
    const handle = this.sessions.get(id);
    handle?.notify(event, payload);
    return handle !== undefined;
  }

  terminateAll(reason: string): void {
    for (const handle of [...this.sessions.values()]) handle.terminate(reason);
  }
}
