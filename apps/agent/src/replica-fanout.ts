import { AGENT_EVENTS, type ReplicaAddress, type ReplicasAnswer } from '@gw/contracts';
import type { Logger } from 'pino';
import type { ControlChannel } from './control-channel.js';

const ASK_TIMEOUT_MS = 5_000;

export interface ReplicaFanoutOptions {
  /** The connection to the configured control plane URL (usually a load balancer). */
  primary: ControlChannel;
  /** Makes (does not start) a connection to one replica's own address, wired like the primary. */
  connect: (url: string) => ControlChannel;
  /** How often the replica list is asked for again (jittered by a fifth either way). */
  refreshMs: number;
  log: Logger;
}

/** Only http(s) addresses, as the control plane advertises them. */
function usable(replica: ReplicaAddress): boolean {
  try {
    const url = new URL(replica.url);
    return (url.protocol === 'http:' || url.protocol === 'https:') && typeof replica.id === 'string' && replica.id.length > 0;
  } catch {
    return false;
  }
}

/**
 * Keeps a tunnel to every control plane replica, so that a client session landing on any replica
 * reaches this agent without a relay between replicas. The primary connection (through the load
 * balancer) says which replica it reached and lists the others; one more connection is kept to each
 * other replica, opened and closed as replicas come and go. Streams, cancels and revocation arrive
 * on any of them; recordings and approvals use the primary.
 */
export class ReplicaFanout {
  private readonly others = new Map<string, { url: string; channel: ControlChannel }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ReplicaFanoutOptions) {
    o.primary.onReady(() => {
      const session = o.primary.session;
      if (session?.replicaId) this.reconcile(session.replicaId, session.replicas);
    });
  }

  start(): void {
    this.schedule();
  }

  /** Connections to replicas other than the primary's, and how many of them are registered. */
  get connections(): { total: number; ready: number } {
    const all = [...this.others.values()];
    return { total: all.length, ready: all.filter((o) => o.channel.connected).length };
  }

  stop(reason: string): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const other of this.others.values()) other.channel.stop(reason);
    this.others.clear();
  }

  /** Asks the primary's replica for the current list; a failure keeps the connections as they are. */
  async refresh(): Promise<void> {
    if (this.stopped || !this.o.primary.connected) return;
    try {
      const answer = await this.o.primary.request<ReplicasAnswer>(AGENT_EVENTS.replicas, {}, ASK_TIMEOUT_MS);
      if (answer && answer.ok === true && Array.isArray(answer.replicas)) this.reconcile(answer.replicaId, answer.replicas);
    } catch (error) {
      this.o.log.debug({ err: error }, 'could not refresh the replica list');
    }
  }

  private reconcile(primaryId: string, replicas: readonly ReplicaAddress[]): void {
    if (this.stopped) return;
    const wanted = new Map(replicas.filter((r) => usable(r) && r.id !== primaryId).map((r) => [r.id, r.url]));
    for (const [id, other] of this.others) {
      if (wanted.get(id) === other.url) continue;
      other.channel.stop('replica left the control plane');
      this.others.delete(id);
      this.o.log.info({ replicaId: id, url: other.url }, 'closed the tunnel to a replica that is gone');
    }
    for (const [id, url] of wanted) {
      if (this.others.has(id)) continue;
      const channel = this.o.connect(url);
      this.others.set(id, { url, channel });
      channel.start();
      this.o.log.info({ replicaId: id, url }, 'opening a tunnel to another control plane replica');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.o.refreshMs * (0.8 + Math.random() * 0.4);
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }
}
