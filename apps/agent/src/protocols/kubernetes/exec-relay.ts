import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { PolicyDecision, PolicyInput } from '@gw/policy';
import type { ApprovalOutcome } from '../../approvals/approval-client.js';
import { statusJson, writeUpgradeRefusal } from './k8s-status.js';
import type { K8sSession } from './kubernetes-handler.js';
import { policyResource, recordedText, upstreamHeaders } from './kubernetes-handler.js';
import { RequestAttributeError, requestAttributes } from './request-attributes.js';
import { actionFor, describeTarget, policyContextFor } from './request-policy.js';
import type { ResponseMasking } from './response-masking.js';

/** A WebSocket subprotocol name (an RFC 7230 token). */
const WEBSOCKET_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The channel subprotocols of exec and attach, newest first (the API server picks from the client's list). */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
/** Largest WebSocket message relayed (kubectl sends at most 32 KiB of stdin at a time). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface ExecRelayDeps {
  decide(input: PolicyInput): PolicyDecision;
  masking(decision: PolicyDecision): ResponseMasking | undefined;
}

/** ws needs these socket methods; a tunnel stream is not a TCP socket, so they do nothing. */
function socketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & { setTimeout?: unknown; setNoDelay?: unknown; setKeepAlive?: unknown };
  if (typeof s.setTimeout !== 'function') s.setTimeout = () => stream;
  if (typeof s.setNoDelay !== 'function') s.setNoDelay = () => stream;
  if (typeof s.setKeepAlive !== 'function') s.setKeepAlive = () => stream;
  return stream;
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (typeof header === 'string' ? header : '').split(',').map((p) => p.trim()).filter((p) => p !== '');
}

function closeCodeFor(code: number): number {
  // 1005/1006/1015 describe a close; they cannot be sent in one.
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000 ? 1000 : code;
}

/**
 * exec, attach and port-forward over WebSocket. The agent ends the client's WebSocket itself and
 * opens its own to the API server (with the session's credential), so it can tell the client about
 * a hold on stderr before anything runs, record the channels (stdin, stdout, stderr, resize) as a
 * terminal, and mask what policy says. SPDY upgrades (kubectl before 1.30) are refused with a
 * message: relaying them would mean passing bytes the agent cannot read.
 */
export class ExecRelay {
  constructor(private readonly deps: ExecRelayDeps) {}

  async handle(session: K8sSession, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let attrs;
    try {
      attrs = requestAttributes(method, url);
    } catch (error) {
      if (!(error instanceof RequestAttributeError)) throw error;
      return writeUpgradeRefusal(socket, 400, 'BadRequest', error.message);
    }
    const action = actionFor(attrs);
    const query = new URL(url, 'http://cluster').searchParams;
    const command = query.getAll('command');
    const container = query.get('container') ?? undefined;
    const tty = ['1', 'true'].includes((query.get('tty') ?? '').toLowerCase());
    const record = {
      method, path: url.slice(0, 2048), verb: attrs.verb, resource: attrs.resource ?? null, subresource: attrs.subresource ?? null,
      namespace: attrs.namespace ?? null, name: attrs.name ?? null, action: action ?? null, upgrade: String(req.headers.upgrade ?? ''),
    };
    const decision: PolicyDecision = action && ['k8s:exec', 'k8s:attach', 'k8s:portforward', 'k8s:proxy'].includes(action)
      ? this.deps.decide({
        principal: session.principal, action, resource: policyResource(session.resource),
        context: policyContextFor(attrs, { ...(container !== undefined ? { container } : {}), ...(command.length > 0 ? { command } : {}) }, session.sourceIp),
      })
      : { effect: 'deny', determiningPolicies: [], reasons: [`${describeTarget(attrs)} cannot be upgraded through the gateway`], errors: [], obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
    const decided = { decision: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons };
    record.path = recordedText(session, this.deps.masking(decision), record.path);
    if (decision.effect === 'deny') {
      const why = decision.determiningPolicies.length > 0 ? `denied by policy "${decision.determiningPolicies.join('", "')}": ${decision.reasons.join('; ')}` : decision.reasons.join('; ');
      writeUpgradeRefusal(socket, 403, 'Forbidden', `${describeTarget(attrs)} is forbidden: ${why}`);
      session.recorder.record('k8s.request', { ...record, ...decided, status: 403, durationMs: Date.now() - started });
      return;
    }
    if (!/^websocket$/i.test(String(req.headers.upgrade ?? ''))) {
      const message = `${describeTarget(attrs)} over ${String(req.headers.upgrade ?? 'an unknown protocol')} is not relayed by the gateway: use a client that speaks WebSocket (kubectl 1.30 or newer)`;
      writeUpgradeRefusal(socket, 400, 'BadRequest', message);
      session.recorder.record('k8s.request', { ...record, ...decided, status: 400, reasons: [...decided.reasons, message], durationMs: Date.now() - started });
      return;
    }
    const offered = offeredProtocols(req);
    // kubectl 1.31 and newer tunnel SPDY inside the WebSocket for port-forward (subprotocol
    // `SPDY/3.1+portforward.k8s.io`): not a channel protocol the relay speaks, and not even a valid
    // WebSocket subprotocol token. Refused with a message that says so, not a generic failure.
    if (offered.length > 0 && !offered.some((p) => WEBSOCKET_TOKEN.test(p))) {
      const message = `${describeTarget(attrs)} asks for ${offered.join(', ')}: SPDY tunnelled in a WebSocket (kubectl port-forward) is not relayed by the gateway; clients that speak ${CHANNEL_PROTOCOLS.join(' or ')} work`;
      writeUpgradeRefusal(socket, 400, 'BadRequest', message);
      session.recorder.record('k8s.request', { ...record, ...decided, status: 400, reasons: [...decided.reasons, message], durationMs: Date.now() - started });
      return;
    }
    const channels = action === 'k8s:exec' || action === 'k8s:attach';
    if (decision.effect === 'require_approval') {
      if (!channels || !session.hold) {
        writeUpgradeRefusal(socket, 403, 'Forbidden', `${describeTarget(attrs)} needs an approval (${decision.reasons.join('; ')}), which cannot be waited for here`);
        session.recorder.record('k8s.request', { ...record, ...decided, status: 403, durationMs: Date.now() - started });
        return;
      }
      const protocol = offered.find((p) => CHANNEL_PROTOCOLS.includes(p));
      if (!protocol) return writeUpgradeRefusal(socket, 400, 'BadRequest', `no channel protocol offered (${CHANNEL_PROTOCOLS.join(', ')})`);
      const client = await this.acceptClient(req, socket, head, () => protocol);
      const subject = { request: `${method} ${attrs.path}`, verb: action, namespace: attrs.namespace ?? null, pod: attrs.name ?? null, container: container ?? null, command: command.join(' '), cluster: session.resource.name };
      const aborted = new AbortController();
      client.once('close', () => aborted.abort('the client closed the connection while it was held'));
      const outcome: ApprovalOutcome = await session.hold(subject, decision.obligations.approval, {
        detail: { request: `${method} ${url}` },
        signal: aborted.signal,
        onRequested: (info) => {
          if (client.readyState === WebSocket.OPEN) {
            client.send(Buffer.concat([Buffer.from([STDERR]), Buffer.from(`gateway: ${action.slice(4)} is held for approval ${info.approvalId} until ${info.expiresAt.toISOString()}; an approver runs it with: POST ${info.approveUrl}\r\n`)]));
          }
        },
      });
      const approvalId = outcome.approvalId ?? null;
      if (outcome.status !== 'approved') {
        const why = outcome.status === 'unavailable' ? outcome.reason : `approval ${outcome.approvalId} was ${outcome.status}${outcome.by ? ` by ${outcome.by}` : ''}${outcome.comment ? `: ${outcome.comment}` : ''}`;
        if (client.readyState === WebSocket.OPEN) {
          client.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(statusJson(403, 'Forbidden', `${why}; the ${action.slice(4)} did not run`))]));
          client.close(1000);
        }
        session.recorder.record('k8s.request', { ...record, ...decided, approvalId, approval: outcome.status, status: 403, durationMs: Date.now() - started });
        return;
      }
      const upstream = await this.dialUpstream(session, req, [protocol]).catch((error: Error) => error);
      if (upstream instanceof Error || 'refusal' in upstream) {
        const message = upstream instanceof Error ? upstream.message : `the API server refused the ${action.slice(4)} (HTTP ${upstream.status})`;
        client.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(statusJson(502, 'BadGateway', message))]));
        client.close(1000);
        return;
      }
      this.relay(session, client, upstream.ws, { record: { ...record, ...decided, approvalId }, started, channels, tty, command, container, decision });
      return;
    }
    const upstream = await this.dialUpstream(session, req, offered).catch((error: Error) => error);
    if (upstream instanceof Error) {
      writeUpgradeRefusal(socket, 502, 'BadGateway', upstream.message);
      session.recorder.record('k8s.request', { ...record, ...decided, status: 502, durationMs: Date.now() - started });
      return;
    }
    if ('refusal' in upstream) {
      // The API server said no (404 pod, 400 container ...): its answer goes to the client as is.
      socket.end(upstream.refusal);
      session.recorder.record('k8s.request', { ...record, ...decided, status: upstream.status, durationMs: Date.now() - started });
      return;
    }
    const client = await this.acceptClient(req, socket, head, () => upstream.ws.protocol);
    this.relay(session, client, upstream.ws, { record: { ...record, ...decided }, started, channels, tty, command, container, decision });
  }

  private acceptClient(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: () => string): Promise<WebSocket> {
    const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, handleProtocols: () => protocol() || false });
    return new Promise((resolve) => server.handleUpgrade(req, socketLike(socket), head, (ws) => resolve(ws)));
  }

  private dialUpstream(session: K8sSession, req: IncomingMessage, protocols: string[]): Promise<{ ws: WebSocket } | { refusal: Buffer; status: number }> {
    const { auth, resource } = session;
    const headers = upstreamHeaders(req.headers, auth, false);
    for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
    const host = resource.address.host.includes(':') ? `[${resource.address.host}]` : resource.address.host;
    const ws = new WebSocket(`wss://${host}:${resource.address.port}${req.url ?? '/'}`, protocols, {
      headers: headers as Record<string, string>,
      ca: auth.ca,
      ...(auth.servername ? { servername: auth.servername } : {}),
      ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}),
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_request, response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const body = Buffer.concat(chunks).subarray(0, 64 * 1024);
          const head = `HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? ''}\r\ncontent-type: ${response.headers['content-type'] ?? 'application/json'}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
          resolve({ refusal: Buffer.concat([Buffer.from(head), body]), status: response.statusCode ?? 502 });
        });
      });
      ws.once('error', (error: Error & { code?: string }) => reject(new Error(`the API server of ${resource.name} could not be reached (${error.code ?? error.message})`)));
    });
  }

  private relay(
    session: K8sSession,
    client: WebSocket,
    upstream: WebSocket,
    o: { record: Record<string, unknown>; started: number; channels: boolean; tty: boolean; command: string[]; container: string | undefined; decision: PolicyDecision },
  ): void {
    const recorder = session.recorder;
    const masking = this.deps.masking(o.decision);
    const execChannel = Math.floor(Math.random() * 1_000_000);
    let recorded = 0;
    const limit = session.options.recordOutputLimitBytes;
    const t0 = Date.now();
    let bytesIn = 0;
    let bytesOut = 0;
    if (o.channels) {
      recorder.record('k8s.exec', {
        ...o.record,
        channel: execChannel,
        command: recordedText(session, masking, o.command.join(' ')),
        container: o.container ?? null,
        tty: o.tty,
        protocol: client.protocol,
        pty: { cols: 80, rows: 24 },
      });
    }
    const frame = (kind: 'o' | 'i' | 'r', data: string) => {
      if (recorded > limit) return;
      recorded += data.length;
      recorder.record('k8s.io', { channel: execChannel, frames: [[(Date.now() - t0) / 1000, kind, recorded > limit ? '[recording limit reached]' : data]] });
    };
    client.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      bytesIn += buf.length;
      if (o.channels && buf.length > 0) {
        if (buf[0] === STDIN) frame('i', masking ? masking.objects.maskText(buf.subarray(1).toString('utf8')) : buf.subarray(1).toString('utf8'));
        else if (buf[0] === RESIZE) {
          try {
            const size = JSON.parse(buf.subarray(1).toString('utf8')) as { Width?: number; Height?: number };
            frame('r', `${size.Width ?? 80}x${size.Height ?? 24}`);
          } catch {
            // not a resize message: relayed, not recorded
          }
        }
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(buf, { binary: isBinary });
    });
    upstream.on('message', (data: RawData, isBinary: boolean) => {
      let buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (o.channels && buf.length > 0 && (buf[0] === STDOUT || buf[0] === STDERR)) {
        const text = buf.subarray(1).toString('utf8');
        // Without a terminal, output is text lines: masked for the client too. A terminal's
        // output is masked only in the recording (its control sequences must stay intact).
        const masked = masking ? masking.objects.maskText(text) : text;
        if (masking && !o.tty && masked !== text) buf = Buffer.concat([buf.subarray(0, 1), Buffer.from(masked)]);
        frame('o', masked);
      }
      bytesOut += buf.length;
      if (client.readyState === WebSocket.OPEN) client.send(buf, { binary: isBinary });
    });
    let ended = false;
    const end = (by: string, code: number, reason: string) => {
      if (ended) return;
      ended = true;
      if (client.readyState === WebSocket.OPEN) client.close(closeCodeFor(code), reason.slice(0, 120));
      if (upstream.readyState === WebSocket.OPEN) upstream.close(closeCodeFor(code), reason.slice(0, 120));
      setTimeout(() => {
        client.terminate();
        upstream.terminate();
      }, 1000).unref();
      recorder.record('k8s.request', { ...o.record, status: 101, endedBy: by, durationMs: Date.now() - o.started, bytesIn, bytesOut, ...(o.channels ? { channel: execChannel } : {}) });
    };
    client.on('close', (code, reason) => end('client', code, reason.toString()));
    upstream.on('close', (code, reason) => end('cluster', code, reason.toString()));
    client.on('error', () => end('client', 1011, 'client error'));
    upstream.on('error', () => end('cluster', 1011, 'API server connection failed'));
    session.stream.once('close', () => end('gateway', 1001, 'the gateway session ended'));
  }
}
