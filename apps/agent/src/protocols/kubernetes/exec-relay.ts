import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PolicyDecision, PolicyInput } from '@gw/policy';
import type { SpdyStream } from '@gw/protocol-spdy';
import type { ApprovalOutcome } from '../../approvals/approval-client.js';
import { statusJson, writeUpgradeRefusal } from './k8s-status.js';
import type { K8sSession } from './kubernetes-handler.js';
import { identityClaimRefusal, policyResource, recordedText } from './kubernetes-handler.js';
import { RequestAttributeError, queryBool, queryOf, requestAttributes, type RequestAttributes } from './request-attributes.js';
import { actionFor, describeTarget, policyContextFor, stricterDecision } from './request-policy.js';
import type { ResponseMasking } from './response-masking.js';
import { WebSocketChannelClient, type ChannelClient } from './channel-client.js';
import { relayChannels, type RelayOptions } from './channel-relay.js';
import { MAX_MESSAGE_BYTES, dialUpstream, refusalMessage } from './upstream-websocket.js';
import { socketLike } from './socket-like.js';
import { SPDY_EXEC_PROTOCOLS, SpdyExecClient, execStreamsWanted } from './spdy-exec-client.js';
import { PORT_FORWARD_PROTOCOL, SpdyPortForwardPairs, type ForwardedConnection } from './spdy-port-forward.js';
import {
  SPDY_TUNNEL_PREFIX, SPDY_UPGRADE, acceptSpdyTunnel, acceptSpdyUpgrade, negotiateStreamProtocol, offeredStreamProtocols, type SpdyTransport,
} from './spdy-transport.js';

/** A WebSocket subprotocol name (an RFC 7230 token). */
const WEBSOCKET_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The channel subprotocols of exec and attach, newest first (the API server picks from the client's list). */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const STDERR = 2;
const ERROR = 3;

export interface ExecRelayDeps {
  decide(input: PolicyInput): PolicyDecision;
  masking(decision: PolicyDecision): ResponseMasking | undefined;
}

/** What one upgrade request was decided as, and what its records start with. */
interface UpgradeRequest {
  method: string;
  url: string;
  attrs: RequestAttributes;
  action: string | undefined;
  command: string[];
  container: string | undefined;
  tty: boolean;
  channels: boolean;
  decision: PolicyDecision;
  record: Record<string, unknown>;
  started: number;
}


/**
 * The ports of a port-forward's query as the API server reads them (`ports`, repeated; a value is a
 * decimal integer, Go's strconv with an optional sign; commas are read as separators too, as the
 * kubelet does). A value that is not a port from 1 to 65535 is refused rather than guessed at.
 */
export function portForwardPorts(query: URLSearchParams): number[] {
  const ports: number[] = [];
  for (const value of query.getAll('ports')) {
    for (const part of value.split(',')) {
      if (!/^\+?\d{1,10}$/.test(part) || Number(part) < 1 || Number(part) > 65535) {
        throw new RequestAttributeError(`the port-forward port "${part.slice(0, 50)}" is not a port from 1 to 65535`);
      }
      ports.push(Number(part));
    }
  }
  return ports;
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (typeof header === 'string' ? header : '').split(',').map((p) => p.trim()).filter((p) => p !== '');
}


/**
 * exec, attach and port-forward. The agent ends the client's connection itself and opens its own
 * WebSocket to the API server (with the session's credential, channel protocol v5 or v4), so it
 * can tell the client about a hold on stderr before anything runs, record the channels (stdin,
 * stdout, stderr, resize) as a terminal, and mask what policy says. Clients come as WebSocket
 * (kubectl 1.30+ exec), as SPDY/3.1 (kubectl before 1.30 exec and attach, port-forward before
 * 1.31), or as SPDY tunnelled in a WebSocket (port-forward from 1.31); SPDY streams are turned
 * into the same channel messages, so policy, holds, masking and recording are the same for all.
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
    // The query as the API server reads it (requestAttributes refused what it would read otherwise).
    const query = queryOf(url);
    const command = query.getAll('command');
    const container = query.get('container') ?? undefined;
    const tty = queryBool(query.get('tty'));
    const record: Record<string, unknown> = {
      method, path: url.slice(0, 2048), verb: attrs.verb, resource: attrs.resource ?? null, subresource: attrs.subresource ?? null,
      namespace: attrs.namespace ?? null, name: attrs.name ?? null, action: action ?? null, upgrade: String(req.headers.upgrade ?? ''),
    };
    let ports: number[] = [];
    if (action === 'k8s:portforward') {
      try {
        ports = portForwardPorts(query);
      } catch (error) {
        if (!(error instanceof RequestAttributeError)) throw error;
        return writeUpgradeRefusal(socket, 400, 'BadRequest', error.message);
      }
    }
    const decideWith = (port?: number): PolicyDecision => this.deps.decide({
      principal: session.principal, action: action!, resource: policyResource(session.resource),
      context: policyContextFor(attrs, { ...(container !== undefined ? { container } : {}), ...(command.length > 0 ? { command } : {}), ...(port !== undefined ? { port } : {}) }, session.sourceIp),
    });
    // A port-forward that names its ports in the query (WebSocket clients) is decided for each
    // (context.port; the strictest wins); kubectl's SPDY port-forward names them per connection, and
    // each connection is decided again with its port (forwardConnection).
    const decision: PolicyDecision = action && ['k8s:exec', 'k8s:attach', 'k8s:portforward', 'k8s:proxy'].includes(action)
      ? (ports.length > 0 ? ports.map((p) => decideWith(p)).reduce((a, b) => stricterDecision(a, b)) : decideWith())
      : { effect: 'deny', determiningPolicies: [], reasons: [`${describeTarget(attrs)} cannot be upgraded through the gateway`], errors: [], obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
    const decided = { decision: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons };
    record.path = recordedText(session, this.deps.masking(decision), String(record.path));
    Object.assign(record, decided);
    const channels = action === 'k8s:exec' || action === 'k8s:attach';
    const request: UpgradeRequest = { method, url, attrs, action, command, container, tty, channels, decision, record, started };
    const refuse = (code: 400 | 403 | 502, reason: 'BadRequest' | 'Forbidden' | 'BadGateway', message: string, extra: Record<string, unknown> = {}) => {
      writeUpgradeRefusal(socket, code, reason, message);
      session.recorder.record('k8s.request', { ...record, ...extra, status: code, durationMs: Date.now() - started });
    };
    const claim = identityClaimRefusal(req.headers);
    if (claim) return refuse(403, 'Forbidden', claim, { decision: 'deny', policies: [], reasons: [claim] });
    if (decision.effect === 'deny') {
      const why = decision.determiningPolicies.length > 0 ? `denied by policy "${decision.determiningPolicies.join('", "')}": ${decision.reasons.join('; ')}` : decision.reasons.join('; ');
      return refuse(403, 'Forbidden', `${describeTarget(attrs)} is forbidden: ${why}`);
    }
    // A WebSocket through pods/services/nodes proxy carries whatever the application sends: the agent
    // cannot mask its messages, so a permit that asks for masking is not met, and the upgrade is refused.
    const { masking: rules } = decision.obligations;
    if (action === 'k8s:proxy' && (rules.entities.length > 0 || rules.columns.length > 0)) {
      const message = `${describeTarget(attrs)} is forbidden over an upgraded connection: the permit masks answers (${decision.determiningPolicies.join(', ')}), and the messages of a proxied connection cannot be masked; plain HTTP requests through the proxy are masked`;
      return refuse(403, 'Forbidden', message, { decision: 'deny', reasons: [...decided.reasons, message] });
    }
    const upgrade = String(req.headers.upgrade ?? '');
    if (upgrade.toUpperCase() === SPDY_UPGRADE) return this.handleSpdy(session, req, socket, head, request, refuse);
    if (!/^websocket$/i.test(upgrade)) {
      const message = `${describeTarget(attrs)} over ${upgrade || 'an unknown protocol'} is not relayed by the gateway: it speaks WebSocket and ${SPDY_UPGRADE}`;
      return refuse(400, 'BadRequest', message, { reasons: [...decided.reasons, message] });
    }
    const offered = offeredProtocols(req);
    const tunnelled = offered.find((p) => p.startsWith(SPDY_TUNNEL_PREFIX));
    if (tunnelled !== undefined) {
      if (tunnelled !== `${SPDY_TUNNEL_PREFIX}${PORT_FORWARD_PROTOCOL}` || action !== 'k8s:portforward') {
        const message = `${describeTarget(attrs)} asks for ${offered.join(', ')}: SPDY is relayed in a WebSocket for port-forward only (${SPDY_TUNNEL_PREFIX}${PORT_FORWARD_PROTOCOL})`;
        return refuse(400, 'BadRequest', message, { reasons: [...decided.reasons, message] });
      }
      if (decision.effect === 'require_approval') return refuse(403, 'Forbidden', `${describeTarget(attrs)} needs an approval (${decision.reasons.join('; ')}), which cannot be waited for here`);
      return this.spdyPortForward(session, req, request, (onStream) => acceptSpdyTunnel(req, socket, head, tunnelled, onStream));
    }
    if (offered.length > 0 && !offered.some((p) => WEBSOCKET_TOKEN.test(p))) {
      const message = `${describeTarget(attrs)} asks for ${offered.join(', ')}, none of which the gateway relays; clients that speak ${CHANNEL_PROTOCOLS.join(' or ')} work`;
      return refuse(400, 'BadRequest', message, { reasons: [...decided.reasons, message] });
    }
    if (decision.effect === 'require_approval') {
      if (!channels || !session.hold) return refuse(403, 'Forbidden', `${describeTarget(attrs)} needs an approval (${decision.reasons.join('; ')}), which cannot be waited for here`);
      const protocol = offered.find((p) => CHANNEL_PROTOCOLS.includes(p));
      if (!protocol) return writeUpgradeRefusal(socket, 400, 'BadRequest', `no channel protocol offered (${CHANNEL_PROTOCOLS.join(', ')})`);
      const client = new WebSocketChannelClient(await this.acceptClient(req, socket, head, () => protocol));
      return this.holdThenRelay(session, req, client, [protocol], request);
    }
    const upstream = await dialUpstream(session, req, offered).catch((error: Error) => error);
    if (upstream instanceof Error) return refuse(502, 'BadGateway', upstream.message);
    if ('refusal' in upstream) {
      // The API server said no (404 pod, 400 container ...): its answer goes to the client as is.
      socket.end(upstream.refusal);
      session.recorder.record('k8s.request', { ...record, status: upstream.status, durationMs: Date.now() - started });
      return;
    }
    const client = new WebSocketChannelClient(await this.acceptClient(req, socket, head, () => upstream.ws.protocol));
    relayChannels(session, client, upstream.ws, (d) => this.deps.masking(d), this.relayOptions(request));
  }

  /** kubectl's SPDY/3.1 upgrade: exec and attach (kubectl before 1.30) or port-forward (before 1.31). */
  private async handleSpdy(
    session: K8sSession, req: IncomingMessage, socket: Duplex, head: Buffer, request: UpgradeRequest,
    refuse: (code: 400 | 403 | 502, reason: 'BadRequest' | 'Forbidden' | 'BadGateway', message: string) => void,
  ): Promise<void> {
    const { attrs, decision } = request;
    const offered = offeredStreamProtocols(req);
    if (request.action === 'k8s:portforward') {
      if (!offered.includes(PORT_FORWARD_PROTOCOL)) return refuse(400, 'BadRequest', `port-forward over ${SPDY_UPGRADE} speaks ${PORT_FORWARD_PROTOCOL}; the client offered ${offered.join(', ') || 'nothing'}`);
      if (decision.effect === 'require_approval') return refuse(403, 'Forbidden', `${describeTarget(attrs)} needs an approval (${decision.reasons.join('; ')}), which cannot be waited for here`);
      return this.spdyPortForward(session, req, request, (onStream) => Promise.resolve(acceptSpdyUpgrade(socket, head, PORT_FORWARD_PROTOCOL, onStream)));
    }
    if (!request.channels) return refuse(400, 'BadRequest', `${describeTarget(attrs)} over ${SPDY_UPGRADE} is not relayed by the gateway`);
    const protocol = negotiateStreamProtocol(offered, SPDY_EXEC_PROTOCOLS);
    if (!protocol) return refuse(400, 'BadRequest', `the client offered ${offered.join(', ') || 'no stream protocol'}; over ${SPDY_UPGRADE} the gateway speaks ${SPDY_EXEC_PROTOCOLS.join(' and ')} (kubectl 1.27 and newer)`);
    const client = new SpdyExecClient(`${SPDY_UPGRADE}+${protocol}`, execStreamsWanted(queryOf(request.url)));
    const accept = async (): Promise<boolean> => {
      client.attach(acceptSpdyUpgrade(socket, head, protocol, (stream) => client.addStream(stream)));
      try {
        await client.ready;
        return true;
      } catch (error) {
        session.recorder.record('k8s.request', { ...request.record, status: 101, endedBy: 'client', reasons: [...decision.reasons, (error as Error).message], durationMs: Date.now() - request.started });
        return false;
      }
    };
    if (decision.effect === 'require_approval') {
      if (!session.hold) return refuse(403, 'Forbidden', `${describeTarget(attrs)} needs an approval (${decision.reasons.join('; ')}), which cannot be waited for here`);
      if (!(await accept())) return;
      return this.holdThenRelay(session, req, client, [...SPDY_EXEC_PROTOCOLS], request);
    }
    // The API server is asked first, so that its refusal (no such pod or container) reaches kubectl as an HTTP answer.
    const upstream = await dialUpstream(session, req, [...SPDY_EXEC_PROTOCOLS]).catch((error: Error) => error);
    if (upstream instanceof Error) return refuse(502, 'BadGateway', upstream.message);
    if ('refusal' in upstream) {
      socket.end(upstream.refusal);
      session.recorder.record('k8s.request', { ...request.record, status: upstream.status, durationMs: Date.now() - request.started });
      return;
    }
    // Output may come before kubectl has opened its streams: held in the WebSocket until then.
    upstream.ws.pause();
    if (!(await accept())) {
      upstream.ws.close(1000);
      return;
    }
    client.upstreamProtocol = upstream.ws.protocol;
    relayChannels(session, client, upstream.ws, (d) => this.deps.masking(d), this.relayOptions(request));
    upstream.ws.resume();
  }

  /**
   * kubectl's port-forward over SPDY (plain or tunnelled): allowed once for the pod, then every
   * connection kubectl forwards (a pair of streams for one port) gets its own WebSocket to the
   * API server for that port, relayed and recorded (`k8s.portforward`) like a WebSocket client's.
   */
  private async spdyPortForward(session: K8sSession, req: IncomingMessage, request: UpgradeRequest, accept: (onStream: (stream: SpdyStream) => void) => Promise<SpdyTransport>): Promise<void> {
    let connections = 0;
    const pairs = new SpdyPortForwardPairs((connection) => {
      connections++;
      void this.forwardConnection(session, req, request, connection);
    });
    const current = await accept((stream) => pairs.addStream(stream));
    pairs.transport = current;
    const end = () => current.end();
    session.stream.once('close', end);
    current.onClose(() => {
      session.stream.off('close', end);
      session.recorder.record('k8s.request', { ...request.record, status: 101, protocol: `${SPDY_UPGRADE}+${PORT_FORWARD_PROTOCOL}`, connections, endedBy: session.ended ? 'gateway' : 'client', durationMs: Date.now() - request.started });
    });
  }

  private async forwardConnection(session: K8sSession, req: IncomingMessage, request: UpgradeRequest, connection: ForwardedConnection): Promise<void> {
    const { client, port, requestId } = connection;
    // Each forwarded connection names its port only now: decided again with it (context.port).
    const forPort = this.deps.decide({
      principal: session.principal, action: 'k8s:portforward', resource: policyResource(session.resource),
      context: policyContextFor(request.attrs, { ...(request.container !== undefined ? { container: request.container } : {}), port }, session.sourceIp),
    });
    if (forPort.effect !== 'allow') {
      const why = forPort.effect === 'require_approval'
        ? `port-forward to port ${port} needs an approval (${forPort.reasons.join('; ')}), which cannot be waited for here`
        : `port-forward to port ${port} is forbidden: ${forPort.determiningPolicies.length > 0 ? `denied by policy "${forPort.determiningPolicies.join('", "')}": ` : ''}${forPort.reasons.join('; ')}`;
      client.send(Buffer.concat([Buffer.from([1, port & 0xff, port >> 8]), Buffer.from(why)]));
      client.close();
      session.recorder.record('k8s.portforward', { ...request.record, port, requestId, decision: forPort.effect === 'require_approval' ? 'deny' : forPort.effect, policies: forPort.determiningPolicies, reasons: [why], status: 403, durationMs: 0 });
      return;
    }
    const url = new URL(request.url, 'http://cluster');
    url.searchParams.delete('ports');
    url.searchParams.set('ports', String(port));
    const started = Date.now();
    const upstream = await dialUpstream(session, req, ['v4.channel.k8s.io'], `${url.pathname}${url.search}`).catch((error: Error) => error);
    if (upstream instanceof Error || 'refusal' in upstream) {
      const why = upstream instanceof Error ? upstream.message : `the API server refused port-forward to port ${port} (HTTP ${upstream.status}): ${refusalMessage(upstream.refusal)}`;
      client.send(Buffer.concat([Buffer.from([1, port & 0xff, port >> 8]), Buffer.from(why)]));
      client.close();
      session.recorder.record('k8s.portforward', { ...request.record, port, requestId, status: upstream instanceof Error ? 502 : upstream.status, reasons: [why], durationMs: Date.now() - started });
      return;
    }
    relayChannels(session, client, upstream.ws, (d) => this.deps.masking(d), { ...this.relayOptions(request), started, record: { ...request.record, port, requestId }, recordAs: 'k8s.portforward' });
  }

  /** An exec or attach that needs an approval: the client waits on its open connection, told on stderr. */
  private async holdThenRelay(session: K8sSession, req: IncomingMessage, client: ChannelClient, upstreamProtocols: string[], request: UpgradeRequest): Promise<void> {
    const { method, url, attrs, decision, command, container, record, started } = request;
    const action = request.action!;
    const subject = { request: `${method} ${attrs.path}`, verb: action, namespace: attrs.namespace ?? null, pod: attrs.name ?? null, container: container ?? null, command: command.join(' '), cluster: session.resource.name };
    const aborted = new AbortController();
    client.once('close', () => aborted.abort('the client closed the connection while it was held'));
    const outcome: ApprovalOutcome = await session.hold!(subject, decision.obligations.approval, {
      detail: { request: `${method} ${url}` },
      signal: aborted.signal,
      onRequested: (info) => {
        if (client.isOpen) {
          client.send(Buffer.concat([Buffer.from([STDERR]), Buffer.from(`gateway: ${action.slice(4)} is held for approval ${info.approvalId} until ${info.expiresAt.toISOString()}; an approver runs it with: POST ${info.approveUrl}\r\n`)]));
        }
      },
    });
    const approvalId = outcome.approvalId ?? null;
    if (outcome.status !== 'approved') {
      const why = outcome.status === 'unavailable' ? outcome.reason : `approval ${outcome.approvalId} was ${outcome.status}${outcome.by ? ` by ${outcome.by}` : ''}${outcome.comment ? `: ${outcome.comment}` : ''}`;
      if (client.isOpen) {
        client.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(statusJson(403, 'Forbidden', `${why}; the ${action.slice(4)} did not run`))]));
        client.close(1000);
      }
      session.recorder.record('k8s.request', { ...record, approvalId, approval: outcome.status, status: 403, durationMs: Date.now() - started });
      return;
    }
    const upstream = await dialUpstream(session, req, upstreamProtocols).catch((error: Error) => error);
    if (upstream instanceof Error || 'refusal' in upstream) {
      const message = upstream instanceof Error ? upstream.message : `the API server refused the ${action.slice(4)} (HTTP ${upstream.status})`;
      client.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(statusJson(502, 'BadGateway', message))]));
      client.close(1000);
      return;
    }
    if (client instanceof SpdyExecClient) client.upstreamProtocol = upstream.ws.protocol;
    relayChannels(session, client, upstream.ws, (d) => this.deps.masking(d), { ...this.relayOptions(request), record: { ...record, approvalId } });
  }

  private relayOptions(request: UpgradeRequest): RelayOptions {
    return { record: request.record, started: request.started, channels: request.channels, tty: request.tty, command: request.command, container: request.container, decision: request.decision };
  }

  private acceptClient(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: () => string): Promise<WebSocket> {
    const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, handleProtocols: () => protocol() || false });
    return new Promise((resolve) => server.handleUpgrade(req, socketLike(socket), head, (ws) => resolve(ws)));
  }

}
