import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ReplicaAddress } from '@gw/contracts';
import type { ControlChannel } from './control-channel.js';
import { ReplicaFanout } from './replica-fanout.js';

/** Just what the fan-out uses of a connection. */
class FakeChannel {
  started = false;
  stopped = false;
  connected = true;
  session: { replicaId: string; replicas: ReplicaAddress[] } | undefined;
  answer: unknown;
  private readonly ready: (() => void)[] = [];
  constructor(readonly url: string) {}
  start(): void { this.started = true; }
  stop(): void { this.stopped = true; }
  onReady(listener: () => void): void { this.ready.push(listener); }
  becomeReady(replicaId: string, replicas: ReplicaAddress[]): void {
    this.session = { replicaId, replicas };
    for (const l of this.ready) l();
  }
  request(): Promise<unknown> { return Promise.resolve(this.answer); }
}

const as = (c: FakeChannel) => c as unknown as ControlChannel;

describe('ReplicaFanout', () => {
  it('keeps one connection to each other replica, following the list as replicas come and go', async () => {
    const primary = new FakeChannel('http://lb:8080');
    const made: FakeChannel[] = [];
    const fanout = new ReplicaFanout({
      primary: as(primary),
      connect: (url) => { const c = new FakeChannel(url); made.push(c); return as(c); },
      refreshMs: 60_000,
      log: pino({ level: 'silent' }),
    });
    primary.becomeReady('a', [
      { id: 'a', url: 'http://10.0.0.1:8080' },
      { id: 'b', url: 'http://10.0.0.2:8080' },
      { id: 'c', url: 'http://10.0.0.3:8080' },
      { id: 'x', url: 'ftp://10.0.0.9/' }, // not http(s): ignored
    ]);
    expect(made.map((c) => [c.url, c.started])).toEqual([['http://10.0.0.2:8080', true], ['http://10.0.0.3:8080', true]]);
    expect(fanout.connections).toEqual({ total: 2, ready: 2 });

    primary.answer = { ok: true, replicaId: 'a', replicas: [{ id: 'a', url: 'http://10.0.0.1:8080' }, { id: 'c', url: 'http://10.0.0.3:8080' }, { id: 'd', url: 'http://10.0.0.4:8080' }] };
    await fanout.refresh();
    expect(made[0]!.stopped).toBe(true); // b left
    expect(made[1]!.stopped).toBe(false); // c stays, not reopened
    expect(made.map((c) => c.url)).toEqual(['http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://10.0.0.4:8080']);

    // The primary reconnected through the load balancer to d: d is no longer an "other" replica.
    primary.becomeReady('d', [{ id: 'a', url: 'http://10.0.0.1:8080' }, { id: 'c', url: 'http://10.0.0.3:8080' }, { id: 'd', url: 'http://10.0.0.4:8080' }]);
    expect(made[2]!.stopped).toBe(true);
    expect(made.at(-1)!.url).toBe('http://10.0.0.1:8080');

    primary.answer = { ok: false, error: 'try later' };
    await fanout.refresh(); // a failed answer changes nothing
    expect(fanout.connections.total).toBe(2);
    fanout.stop('closing');
    expect(made.filter((c) => !c.stopped)).toEqual([]);
  });
});
