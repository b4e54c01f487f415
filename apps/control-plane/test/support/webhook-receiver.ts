import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedCall {
  headers: IncomingHttpHeaders;
  /** The raw body, as a receiver must verify it. */
  body: string;
  json: any;
  /** The status this call was answered with (0: connection destroyed without an answer). */
  answeredWith: number;
}

/** What to do with the n-th call (1-based): a status to answer, or 'hang' to never answer. */
export type Responder = (call: number) => number | 'hang';

/** A real HTTP receiver on a random local port that records every call. */
export class WebhookReceiver {
  readonly calls: ReceivedCall[] = [];
  respond: Responder = () => 200;
  private server?: Server;
  private hanging = new Set<() => void>();

  static async start(respond?: Responder): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    if (respond) receiver.respond = respond;
    await receiver.listen(0);
    return receiver;
  }

  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/gateway`;
  }

  /** Listens again (same port when given) after `stop()`. */
  async listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const decision = this.respond(this.calls.length + 1);
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        this.calls.push({ headers: req.headers, body, json, answeredWith: decision === 'hang' ? 0 : decision });
        if (decision === 'hang') {
          this.hanging.add(() => res.destroy());
          return;
        }
        res.writeHead(decision, { 'content-type': 'text/plain' }).end(decision < 300 ? 'ok' : `receiver says ${decision}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const destroy of this.hanging) destroy();
    this.hanging.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
