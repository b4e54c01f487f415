/**
 * Remembers session ids until their grant expires, so a grant cannot be used twice.
 * Bounded: when full of unexpired entries it refuses new ones (fail closed) rather than
 * forgetting an entry that could then be replayed.
 */
export class ReplayCache {
  private readonly expiries = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.expiries.size;
  }

  /** Record `key` until `expiresAtMs`. Returns 'replayed', 'full' or 'recorded'. */
  remember(key: string, expiresAtMs: number, nowMs: number): 'recorded' | 'replayed' | 'full' {
    const known = this.expiries.get(key);
    if (known !== undefined && known > nowMs) return 'replayed';
    if (known === undefined && this.expiries.size >= this.capacity) {
      this.prune(nowMs);
      if (this.expiries.size >= this.capacity) return 'full';
    }
    this.expiries.set(key, expiresAtMs);
    return 'recorded';
  }

  private prune(nowMs: number): void {
    for (const [key, expiresAt] of this.expiries) if (expiresAt <= nowMs) this.expiries.delete(key);
  }
}
