import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CONNECT_CLOSE } from '@gw/contracts';
import { TokenRejectedError, type Principal } from '@gw/identity';
import { bearerTokenOf, type TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionRefused, type OpenedSession, type SessionBroker } from '../connect/session-broker.service.js';
import { sendStatus, statusBody, writeRawResponse, writeRawStatus, type StatusReason } from './k8s-status.js';
import { parseK8sRoute, type K8sRoute } from './k8s-route.js';
import { StreamHttpAgent } from './stream-http-agent.js';

/** Largest answer body the endpoint buffers when an upgrade is refused (a Status is far smaller). */
const MAX_REFUSAL_BODY = 64 * 1024;

/**
 * Request headers that never travel on: the client's credentials and identity claims (the agent
 * talks to the API server as itself) and hop-by-hop headers of this connection.
 */
const DROPPED_REQUEST_HEADERS = new Set(['authorization', 'proxy-authorization', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'cookie']);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'trailer', 'upgrade']);

/** Identity claims: kubectl's `--as` (Impersonate-*) and a front proxy's X-Remote-User/-Group/-Extra-*. */
function isIdentityClaim(name: string): boolean {
  // `Impersonate_User` too: a proxy in front of an API server may read `_` as `-` (CGI-style).
  const lower = name.toLowerCase().replace(/_/g, '-');
  return lower.startsWith('impersonate-') || lower.startsWith('x-remote-');
}

/**
 * Why a request that claims another identity is refused, or undefined. The gateway acts with the
 * credential policy maps the token to; dropping the claim and going on would run the request as
 * someone other than the client asked (`kubectl --as=viewer delete ...` would delete with the
 * session's full rights), so it is refused instead (the agent refuses it too).
 */
export function identityClaimRefusal(headers: IncomingHttpHeaders): string | undefined {
  const claimed = Object.keys(headers).filter(isIdentityClaim);
  if (claimed.length === 0) return undefined;
  return `impersonation is not available through the gateway (the request carries ${claimed.sort().join(', ')}; kubectl --as, --as-group, --as-uid send them): ` +
    'every request acts as the identity that policy maps your token to';
}

export function forwardedRequestHeaders(headers: IncomingHttpHeaders, upgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name) || isIdentityClaim(name)) continue;
    out[name] = value;
  }
  if (upgrade) {
    out.connection = 'Upgrade';
    if (headers.upgrade) out.upgrade = headers.upgrade;
  }
  return out;
}

function forwardedResponseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!DROPPED_RESPONSE_HEADERS.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export interface K8sEndpointDeps {
  tokens: TokenAuthenticator;
  broker: SessionBroker;
  log: Logger;
}

interface RelaySession {
  opened: OpenedSession;
  agent: StreamHttpAgent;
  closed: boolean;
  bytesIn: number;
  bytesOut: number;
  finished?: Promise<void>;
}

type Refusal = { code: number; reason: StatusReason; message: string };

function refusalOf(error: SessionRefused): Refusal {
  switch (error.closeCode) {
    case CONNECT_CLOSE.forbidden:
      return { code: 403, reason: 'Forbidden', message: error.message };
    case CONNECT_CLOSE.unknownResource:
      return { code: 404, reason: 'NotFound', message: error.message };
    case CONNECT_CLOSE.resourceOffline:
      return { code: 503, reason: 'ServiceUnavailable', message: error.message };
    default:
      return { code: 502, reason: 'BadGateway', message: error.message };
  }
}

/**
 * One client TCP connection of the Kubernetes endpoint. Each request is authenticated on its own
 * (a connection may outlive a token); the requests of one principal for one cluster share a session
 * and its tunnel stream for as long as the connection lives (kubectl keeps connections alive), so a
 * session is what one client process did. An upgrade (exec, attach, port-forward) gets a session of
 * its own, since the connection then carries nothing else.
 */
export class K8sClientConnection {
  private readonly sessions = new Map<string, Promise<RelaySession>>();
  private closed = false;
  /** Watch answers in flight: a session that ends tells them why with a watch ERROR event. */
  private readonly watches = new Set<ServerResponse>();
  private readonly endedWatches = new WeakSet<ServerResponse>();

  constructor(private readonly socket: Socket, private readonly deps: K8sEndpointDeps) {
    socket.once('close', () => {
      this.closed = true;
      for (const pending of this.sessions.values()) void pending.then((s) => this.finish(s, 'client'), () => undefined);
      this.sessions.clear();
    });
  }

  async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = parseK8sRoute(req.url);
    if (!route) return sendStatus(res, 404, 'NotFound', notAClusterPath(req.url));
    const principal = await this.authenticate(req, (code, reason, message) => sendStatus(res, code, reason, message));
    if (!principal) return;
    const claim = this.identityClaim(req, principal);
    if (claim) return sendStatus(res, 403, 'Forbidden', claim);
    let session: RelaySession;
    try {
      session = await this.sessionFor(principal, route, req);
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      const r = refusalOf(error);
      return sendStatus(res, r.code, r.reason, r.message);
    }
    this.relay(req, res, route, session);
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const route = parseK8sRoute(req.url);
    if (!route) return writeRawStatus(socket, 404, 'NotFound', 'this endpoint serves Kubernetes clusters at /k8s/<resource>/...');
    const principal = await this.authenticate(req, (code, reason, message) => writeRawStatus(socket, code, reason, message));
    if (!principal) return;
    const claim = this.identityClaim(req, principal);
    if (claim) return writeRawStatus(socket, 403, 'Forbidden', claim);
    let session: RelaySession;
    try {
      session = await this.openSession(principal, route, req);
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      const r = refusalOf(error);
      return writeRawStatus(socket, r.code, r.reason, r.message);
    }
    socket.on('error', () => undefined);
    const upstream = httpRequest({ agent: session.agent, method: req.method, path: route.path, headers: forwardedRequestHeaders(req.headers, true) });
    upstream.on('upgrade', (answer: IncomingMessage, tunnel: Duplex, tunnelHead: Buffer) => {
      const lines = [`HTTP/1.1 101 ${answer.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (tunnelHead.length > 0) socket.write(tunnelHead);
      if (head.length > 0) tunnel.write(head);
      tunnel.on('data', (chunk: Buffer) => (session.bytesOut += chunk.length));
      socket.on('data', (chunk: Buffer) => (session.bytesIn += chunk.length));
      tunnel.pipe(socket);
      socket.pipe(tunnel);
      tunnel.once('close', () => socket.destroy());
      socket.once('close', () => {
        tunnel.destroy();
        void this.finish(session, 'client');
      });
    });
    upstream.on('response', (answer: IncomingMessage) => {
      // Not upgraded: a refusal (policy, SPDY) or an API server error; hand it to the client as is.
      const chunks: Buffer[] = [];
      let size = 0;
      answer.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REFUSAL_BODY) chunks.push(chunk);
      });
      answer.once('end', () => {
        writeRawResponse(socket, answer.statusCode ?? 502, answer.statusMessage ?? '', answer.rawHeaders, Buffer.concat(chunks));
        void this.finish(session, 'resource');
      });
    });
    upstream.on('error', (error: Error) => {
      writeRawStatus(socket, 502, 'BadGateway', `the gateway lost the session to "${route.resource}": ${error.message}`);
      void this.finish(session, 'error', error);
    });
    upstream.end();
  }

  private identityClaim(req: IncomingMessage, principal: Principal): string | undefined {
    const claim = identityClaimRefusal(req.headers);
    if (claim) this.deps.log.warn({ principalId: principal.id, headers: Object.keys(req.headers).filter(isIdentityClaim) }, 'refused a Kubernetes request that claims another identity');
    return claim;
  }

  private async authenticate(req: IncomingMessage, refuse: (code: number, reason: StatusReason, message: string) => void): Promise<Principal | undefined> {
    const token = bearerTokenOf(req.headers.authorization);
    if (!token) {
      refuse(401, 'Unauthorized', 'an OIDC access token is required as the bearer token (gw kubeconfig writes a kubeconfig that sends it)');
      return undefined;
    }
    try {
      return await this.deps.tokens.authenticate(token, { sourceIp: req.socket.remoteAddress ?? null, path: 'k8s' });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      refuse(401, 'Unauthorized', `token refused: ${error.reason}`);
      return undefined;
    }
  }

  private sessionFor(principal: Principal, route: K8sRoute, req: IncomingMessage): Promise<RelaySession> {
    // A new token (kubectl's exec plugin refreshes it) is a new session: its roles and groups may differ.
    const key = `${principal.id}\n${principal.tokenId ?? ''}\n${route.resource}`;
    const existing = this.sessions.get(key);
    if (existing) {
      return existing.then((s) => (s.closed ? this.replace(key, principal, route, req) : s), () => this.replace(key, principal, route, req));
    }
    return this.replace(key, principal, route, req);
  }

  private replace(key: string, principal: Principal, route: K8sRoute, req: IncomingMessage): Promise<RelaySession> {
    const opening = this.openSession(principal, route, req);
    this.sessions.set(key, opening);
    opening.catch(() => {
      if (this.sessions.get(key) === opening) this.sessions.delete(key);
    });
    return opening;
  }

  private async openSession(principal: Principal, route: K8sRoute, req: IncomingMessage): Promise<RelaySession> {
    const opened = await this.deps.broker.open({
      principal,
      resourceName: route.resource,
      expectedType: 'kubernetes',
      sourceAddress: req.socket.remoteAddress ?? null,
      declared: { userAgent: req.headers['user-agent'] ?? null },
      // A kill or the session's end cuts the client's connection: a watch or exec in flight ends
      // there, and the client's next request asks for a new session (and is decided again).
      onTerminate: (_code, reason) => this.terminate(reason),
      keepApprovalsAfterEnd: true,
    });
    const session: RelaySession = { opened, agent: new StreamHttpAgent(opened.stream), closed: false, bytesIn: 0, bytesOut: 0 };
    opened.stream.once('close', () => void this.finish(session, 'resource'));
    if (this.closed) void this.finish(session, 'client');
    return session;
  }

  /**
   * The session was ended from the control plane (kill, revoked or expired grant, time limit): a
   * watch gets an ERROR event with the reason (kubectl prints it and exits), then the connection
   * closes, which also ends an exec or a log stream.
   */
  private terminate(reason: string): void {
    const event = `${JSON.stringify({ type: 'ERROR', object: JSON.parse(statusBody(403, 'Forbidden', `the gateway ended this session: ${reason}`)) as unknown })}\n`;
    for (const res of this.watches) {
      this.endedWatches.add(res);
      if (res.headersSent && !res.writableEnded) res.end(event);
    }
    this.watches.clear();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private relay(req: IncomingMessage, res: ServerResponse, route: K8sRoute, session: RelaySession): void {
    const isWatch = /[?&]watch=(1|true)(&|$)/i.test(route.path) || /^\/apis?\/(?:[^/?]+\/)?[^/?]+\/watch\//.test(route.path);
    const upstream = httpRequest({ agent: session.agent, method: req.method, path: route.path, headers: forwardedRequestHeaders(req.headers, false) });
    let answered = false;
    upstream.on('response', (answer: IncomingMessage) => {
      answered = true;
      if (isWatch) this.watches.add(res);
      res.once('close', () => this.watches.delete(res));
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedResponseHeaders(answer.rawHeaders));
      // Watches and `logs -f` are long chunked answers: each chunk goes out as it comes.
      answer.on('data', (chunk: Buffer) => (session.bytesOut += chunk.length));
      answer.pipe(res);
      const cut = () => {
        if (!this.endedWatches.has(res)) res.destroy();
      };
      answer.once('aborted', cut);
      answer.once('error', cut);
    });
    upstream.on('error', (error: Error) => {
      if (!answered) sendStatus(res, 502, 'BadGateway', `the gateway lost the session to "${route.resource}": ${error.message}`);
      else if (!this.endedWatches.has(res)) res.destroy();
    });
    req.on('data', (chunk: Buffer) => (session.bytesIn += chunk.length));
    req.pipe(upstream);
    // A client that goes away mid-answer (Ctrl-C on a watch) ends its request upstream too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  }

  private finish(session: RelaySession, endedBy: 'client' | 'resource' | 'error', error?: Error): Promise<void> {
    if (session.finished) return session.finished;
    session.closed = true;
    if (endedBy === 'client') session.opened.stream.end();
    // The agent answers the end with its own; whatever is left is cut a second later.
    setTimeout(() => session.opened.stream.destroy(), 1000).unref();
    session.finished = session.opened
      .finish({ bytesIn: session.bytesIn, bytesOut: session.bytesOut, endedBy, ...(error ? { error } : {}) })
      .catch((err: unknown) => this.deps.log.warn({ err, sessionId: session.opened.sessionId }, 'closing a kubernetes session failed'));
    return session.finished;
  }
}

/**
 * The refusal of a path outside /k8s/<resource>/. `kubectl get --raw` (and create/replace/delete
 * --raw) sends its path as it is, without the server URL's path, so the hint names the prefix to add.
 */
export function notAClusterPath(url: string | undefined): string {
  const path = (url ?? '').slice(0, 200);
  const hint = path.startsWith('/api') ? `; kubectl --raw ignores the kubeconfig server's path: write /k8s/<resource>${path.split('?')[0]} (kubectl proxy drops it too: use the kubeconfig directly)` : '';
  return `this endpoint serves Kubernetes clusters at /k8s/<resource>/...; "${path}" is not one${hint}`;
}
