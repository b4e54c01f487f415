import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** A tiny IdP stand-in on 127.0.0.1:<random>: serves JSON documents by path and counts requests per path. */
export class FixtureServer {
  readonly documents = new Map<string, unknown>();
  readonly hits = new Map<string, number>();
  private server?: Server;
  port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setJwks(path: string, keys: JWK[]): void {
    this.documents.set(path, { keys });
  }

  hitCount(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      this.hits.set(path, this.hitCount(path) + 1);
      const document = this.documents.get(path);
      if (document === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
