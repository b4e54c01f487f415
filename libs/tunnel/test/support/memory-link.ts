import { TunnelEndpoint, type TunnelEndpointOptions } from '../../src/index.js';

type SideOptions = Omit<TunnelEndpointOptions, 'role' | 'send'>;

/** One direction of a simulated transport: ordered, asynchronous, copies every frame. */
class Pipe {
  private queue: Uint8Array[] = [];
  private scheduled = false;
  queuedBytes = 0;
  maxQueuedBytes = 0;
  delivered = 0;
  blocked = false;
  cut = false;
  target: TunnelEndpoint | undefined;

  push(frame: Uint8Array): void {
    if (this.cut || this.blocked) return;
    this.queue.push(Uint8Array.from(frame));
    this.queuedBytes += frame.length;
    this.maxQueuedBytes = Math.max(this.maxQueuedBytes, this.queuedBytes);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const frame of batch) {
      this.queuedBytes -= frame.length;
      if (this.cut) continue;
      this.delivered++;
      this.target?.receive(frame);
    }
  }
}

export interface MemoryLink {
  cp: TunnelEndpoint;
  agent: TunnelEndpoint;
  toAgent: Pipe;
  toCp: Pipe;
  /** Transport loss: both ends are told, as a socket 'disconnect' handler would. */
  cut(reason?: string): void;
}

export function memoryLink(cpOptions: SideOptions = {}, agentOptions: SideOptions = {}): MemoryLink {
  const toAgent = new Pipe();
  const toCp = new Pipe();
  const cp = new TunnelEndpoint({ keepalive: false, ...cpOptions, role: 'control-plane', send: (f) => toAgent.push(f) });
  const agent = new TunnelEndpoint({ keepalive: false, ...agentOptions, role: 'agent', send: (f) => toCp.push(f) });
  toAgent.target = agent;
  toCp.target = cp;
  return {
    cp,
    agent,
    toAgent,
    toCp,
    cut(reason = 'transport lost') {
      toAgent.cut = true;
      toCp.cut = true;
      cp.close(reason);
      agent.close(reason);
    },
  };
}
