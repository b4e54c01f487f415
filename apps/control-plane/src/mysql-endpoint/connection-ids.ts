import { randomInt } from 'node:crypto';

/**
 * The connection ids the endpoint gives clients in its handshake: what `mysql`'s Ctrl-C names in the
 * `KILL QUERY <id>` it sends on a second connection. Random 31-bit numbers, unique in this process
 * and unlikely to meet across replicas; the agent resolves them among its sessions and checks that
 * the killer is the same principal.
 */
export class ConnectionIds {
  private readonly live = new Set<number>();

  issue(): number {
    for (;;) {
      const id = randomInt(1, 2 ** 31 - 1);
      if (!this.live.has(id)) {
        this.live.add(id);
        return id;
      }
    }
  }

  release(id: number): void {
    this.live.delete(id);
  }
}
