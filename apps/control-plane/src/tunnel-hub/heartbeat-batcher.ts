/**
 * Agents' heartbeats, written together: each one only marks its agent, and one flush per interval
 * writes every marked agent in two statements. With a thousand agents on a replica (and as many on
 * each other replica, since agents keep a tunnel to every one) a write per heartbeat would be
 * hundreds of statements a second for nothing more than "still here".
 */
export class HeartbeatBatcher {
  private marked = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (agentIds: readonly string[]) => Promise<void>,
    intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  mark(agentId: string): void {
    this.marked.add(agentId);
  }

  async flush(): Promise<void> {
    if (this.marked.size === 0) return;
    const batch = [...this.marked];
    this.marked = new Set();
    try {
      await this.write(batch);
    } catch (error) {
      // Not lost: marked again, written with the next flush.
      for (const id of batch) this.marked.add(id);
      this.onError(error);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
