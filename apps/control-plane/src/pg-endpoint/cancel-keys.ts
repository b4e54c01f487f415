import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * The gateway hands out its own BackendKeyData (the upstream's never reaches the client), and maps
 * a CancelRequest back to the session it belongs to.
 */
export class CancelKeys {
  private readonly byPid = new Map<number, { secret: Buffer; sessionId?: string }>();

  /**
   * A key for a session about to open: its process id is stored with the session (what
   * `pg_cancel_backend(<pid>)` names from another session); it cancels nothing until bound.
   */
  reserve(): { processId: number; secretKey: Buffer } {
    let processId: number;
    do processId = randomInt(1, 0x7fffffff);
    while (this.byPid.has(processId));
    const secretKey = randomBytes(4);
    this.byPid.set(processId, { secret: secretKey });
    return { processId, secretKey };
  }

  /** The session opened: a CancelRequest with this key now reaches it. */
  bind(processId: number, sessionId: string): void {
    const entry = this.byPid.get(processId);
    if (entry) entry.sessionId = sessionId;
  }

  release(processId: number): void {
    this.byPid.delete(processId);
  }

  /** The session a cancel request names, if the secret matches. */
  resolve(processId: number, secretKey: Buffer): string | undefined {
    const entry = this.byPid.get(processId);
    if (!entry?.sessionId || entry.secret.length !== secretKey.length) return undefined;
    return timingSafeEqual(entry.secret, secretKey) ? entry.sessionId : undefined;
  }
}
