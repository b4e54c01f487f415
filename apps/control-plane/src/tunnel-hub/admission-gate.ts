/**
 * At most `limit` agent connections being set up (authenticated, hello answered) at once. When a
 * replica restarts, a thousand agents come back together; each setup waits on the database (and the
 * audit chain's lock), so without a bound their setups pile up past the agents' own timeouts, the
 * agents give up and retry, and nobody gets through. Beyond the bound an agent is refused at once
 * ("busy") and comes back after its jittered backoff, so the replica works through them steadily.
 */
export class AdmissionGate {
  private inFlight = 0;

  constructor(private readonly limit: number) {}

  /** A release function, or undefined when the gate is full. Releasing twice is harmless. */
  tryEnter(): (() => void) | undefined {
    if (this.inFlight >= this.limit) return undefined;
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
    };
  }

  get busy(): number {
    return this.inFlight;
  }
}
