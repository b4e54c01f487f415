import { Agent } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * An HTTP client agent whose only connection is one tunnel stream: the requests of one client
 * connection (HTTP/1.1 keep-alive, one at a time) travel as real HTTP/1.1 over the stream, parsed
 * on the agent by Node's own HTTP server. The stream is not a TCP socket, so the socket tuning that
 * Agent does on kept-alive sockets (setKeepAlive, ref/unref) is skipped.
 */
export class StreamHttpAgent extends Agent {
  private handedOut = false;

  constructor(private readonly stream: Duplex) {
    super({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  }

  override createConnection(): Duplex {
    if (this.handedOut) {
      // The stream ended; this agent has nothing more to offer (the endpoint opens a new session).
      throw new Error('the tunnel stream of this session is closed');
    }
    this.handedOut = true;
    return this.stream;
  }

  override keepSocketAlive(): boolean {
    return !this.stream.destroyed;
  }

  override reuseSocket(): void {
    // nothing to re-reference: the stream is not a socket
  }
}
