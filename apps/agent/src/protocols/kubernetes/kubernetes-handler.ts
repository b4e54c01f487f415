import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Principal } from '@gw/identity';
import { mergeMasking, type GatewayAction, type PolicyDecision, type PolicyInput } from '@gw/policy';
import type { ProtocolHandler, ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import type { AgentResource } from '../../config/agent-config.js';
import type { RecordingShipper, SessionRecorder } from '../../recording/recording-shipper.js';
import type { DurableApprovals, HoldForApproval, RequestApproval } from '../../approvals/approval-client.js';
import { holdThrough } from '../../approvals/approval-client.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { principalFromGrant } from '../postgres/statement-policy.js';
import { loadMaskingKey } from '../postgres/masking-key.js';
import { ClusterCredentialError, sessionAuth, type UpstreamAuth } from './cluster-credentials.js';
import type { KubernetesOptions } from './kubernetes-config.js';
import { RequestAttributeError, queryBool, queryOf, requestAttributes, type RequestAttributes } from './request-attributes.js';
import { actionFor, alsoDecidedAs, describeTarget, mayCreate, policyContextFor, stricterDecision, type RequestExtras } from './request-policy.js';
import { sendStatus, writeUpgradeRefusal, type StatusReason } from './k8s-status.js';
import { readRequestBody, type BodyRead } from './request-body.js';
import { decideWriteThatMayCreate, type ExistenceCheck } from './create-on-write.js';
import { SelfReviewError, accessReviewStatus, parseReview, reviewAnswer, reviewedAttributes, rulesReviewStatus, selfReviewKind, whoamiStatus, type SelfReviewKind } from './self-review.js';
import { objectExists } from './object-existence.js';
import { identityOnly, responseMasking, type ResponseMasking } from './response-masking.js';
import { ExecRelay } from './exec-relay.js';
import { HeldRequests } from './held-requests.js';

/** Verbs whose answer is the object written (or deleted): it holds what a read of it would show. */
const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** How the answer to a request is masked: the permit's rules, or only the objects' identity. */
export interface AnswerMasking {
  masking: ResponseMasking | undefined;
  /** Policy would not let the principal read what the write answers with: only kind, apiVersion and the object's name go back. */
  identityOnly?: string;
}

/** Writes whose decision may read the labels of the object in the body. */
const LABELLED_WRITES: ReadonlySet<GatewayAction> = new Set(['k8s:create', 'k8s:update', 'k8s:patch']);

/** The API server's own limit on request bodies; larger ones are refused before they are read. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

export interface KubernetesHandlerOptions {
  policy: PolicyHolder;
  shipper: RecordingShipper;
  spoolDir: string;
  log: Logger;
  requestApproval?: RequestApproval;
  /** Approvals of plain requests: filed and used up in the control plane, which outlives this agent. */
  durableApprovals?: DurableApprovals;
}

/** One tunnel stream: the requests of one client connection, as one principal, to one cluster. */
export interface K8sSession {
  id: string;
  principal: Principal;
  resource: AgentResource;
  options: KubernetesOptions;
  auth: UpstreamAuth;
  upstreamAgent: HttpsAgent;
  recorder: SessionRecorder;
  sourceIp: string;
  log: Logger;
  /** Holds an exec or attach (the client waits on the open WebSocket). */
  hold?: HoldForApproval;
  /** Plain requests that need an approval (answered at once; the approval outlives the session and the agent). */
  durableApprovals?: DurableApprovals;
  stream: Duplex;
  ended: boolean;
  /** The connect permits' masking: what a refused request's recorded path and command are masked with. */
  connectMasking?: ResponseMasking;
}

/** Recorded text (paths carry exec commands and selectors) masked like the answer would be. */
export function recordedText(session: K8sSession, masking: ResponseMasking | undefined, text: string): string {
  const m = masking ?? session.connectMasking;
  return m ? m.objects.maskText(text) : text;
}

// accept-encoding too: a compressed answer could not be masked (the API server gzips large ones).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'proxy-authorization', 'cookie', 'accept-encoding']);

/**
 * Headers that claim an identity: `Impersonate-*` (kubectl `--as`, `--as-group`, `--as-uid`) and the
 * front proxy's `X-Remote-User`, `X-Remote-Group`, `X-Remote-Extra-*`, which an API server believes
 * from a client certificate its request-header CA signed (an agent credential must never be one, but
 * a client's claim has no business reaching the API server either way).
 */
export function isIdentityHeader(name: string): boolean {
  // `Impersonate_User` too: a proxy in front of an API server may read `_` as `-` (CGI-style).
  const lower = name.toLowerCase().replace(/_/g, '-');
  return lower.startsWith('impersonate-') || lower.startsWith('x-remote-');
}

/**
 * Why a request that claims another identity is refused, or undefined. Dropping the claim and going
 * on would run the request as someone other than the client asked (`kubectl --as=viewer delete ...`
 * would delete with the session's full rights): refused instead, whatever policy says.
 */
export function identityClaimRefusal(headers: IncomingMessage['headers']): string | undefined {
  const claimed = Object.keys(headers).filter(isIdentityHeader);
  if (claimed.length === 0) return undefined;
  return `impersonation is not available through the gateway (the request carries ${claimed.sort().join(', ')}; kubectl --as, --as-group, --as-uid send them): ` +
    'every request acts as the identity that policy maps your token to';
}

/**
 * Request headers for the API server: the client's credential and any identity header (above) are
 * dropped (whatever the control plane let through), the session's own credential is added, and
 * protobuf is never asked for: a protobuf answer could not be masked, so JSON is asked instead.
 */
export function upstreamHeaders(headers: IncomingMessage['headers'], auth: UpstreamAuth, upgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || isIdentityHeader(name)) continue;
    out[name] = value;
  }
  if (upgrade) {
    out.connection = 'Upgrade';
    if (headers.upgrade) out.upgrade = headers.upgrade;
  }
  const accept = typeof headers.accept === 'string' ? headers.accept : '';
  const kept = accept.split(',').map((t) => t.trim()).filter((t) => t !== '' && !/protobuf/i.test(t));
  if (accept !== '') out.accept = kept.length > 0 ? kept.join(', ') : 'application/json';
  return { ...out, ...auth.headers };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * Serves `kubernetes` streams. The stream carries HTTP/1.1 from the control plane's endpoint (the
 * client's requests, without its token); Node's HTTP server parses it here. Every request is
 * turned into Kubernetes request attributes, decided by policy, and either refused with a
 * Kubernetes Status, held for approval, or sent to the API server with the session's own
 * credential; the answer is masked on its way back and each request is recorded.
 */
export class KubernetesHandler implements ProtocolHandler {
  readonly type = 'kubernetes' as const;
  private readonly sessions = new WeakMap<Duplex, K8sSession>();
  private readonly live = new Set<K8sSession>();
  private readonly server: Server;
  private maskingKey: Buffer | undefined;
  private readonly held: HeldRequests;
  private readonly exec: ExecRelay;

  constructor(private readonly o: KubernetesHandlerOptions) {
    this.held = new HeldRequests();
    this.exec = new ExecRelay({ decide: (input) => this.decide(input), masking: (d) => this.maskingFor(d) });
    this.server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
      const session = this.sessions.get(req.socket);
      if (!session) return sendStatus(res, 500, 'InternalError', 'no gateway session for this connection');
      this.serve(session, req, res).catch((error: unknown) => {
        session.log.error({ err: error }, 'kubernetes request failed');
        sendStatus(res, 500, 'InternalError', 'the gateway agent failed on this request');
      });
    });
    // The control plane's side decides when a client connection is idle; the stream is the session.
    this.server.keepAliveTimeout = 0;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const session = this.sessions.get(socket);
      if (!session) return writeUpgradeRefusal(socket, 502, 'BadGateway', 'no gateway session for this connection');
      this.upgrade(session, req, socket, head).catch((error: unknown) => {
        session.log.error({ err: error }, 'kubernetes upgrade failed');
        writeUpgradeRefusal(socket, 502, 'BadGateway', 'the gateway agent failed on this request');
      });
    });
  }

  close(): void {
    for (const s of this.live) s.stream.destroy();
  }

  open(ctx: ProtocolOpenContext): void {
    const { resource, grant, header, log } = ctx;
    const options = resource.kubernetes;
    if (!options) return ctx.reject('REJECTED', `resource ${resource.name} has no kubernetes block in the agent config`);
    const principal = principalFromGrant(grant.principal);
    const sourceIp = header.client.address ?? '';
    // The control plane decided `connect`; the agent reads the same permits for who to act as.
    const connect = this.decide({ principal, action: 'connect', resource: policyResource(resource), context: { sourceIp, hasGrant: true } });
    if (connect.effect === 'deny') return ctx.reject('REJECTED', `not allowed to connect to ${resource.name}: ${connect.reasons.join('; ')}`);
    sessionAuth(resource, options, {
      principalId: principal.id,
      serviceAccounts: connect.obligations.kubernetes?.serviceAccounts ?? [],
      groups: connect.obligations.kubernetes?.groups ?? [],
      sessionExpiresAt: grant.sessionExpiresAt,
    }).then(
      (auth) => {
        if (ctx.signal.aborted) return;
        let stream;
        try {
          stream = ctx.accept();
        } catch (error) {
          log.debug({ err: error }, 'open cancelled while preparing credentials');
          return;
        }
        this.start(ctx, stream, principal, options, auth, sourceIp, this.maskingFor(connect));
      },
      (error: unknown) => {
        const message = error instanceof ClusterCredentialError ? error.message : `the agent could not prepare credentials for ${resource.name}`;
        if (!(error instanceof ClusterCredentialError)) log.error({ err: error }, 'kubernetes credentials failed');
        ctx.reject('RESOURCE_UNAVAILABLE', message);
      },
    );
  }

  private start(ctx: ProtocolOpenContext, stream: Duplex, principal: Principal, options: KubernetesOptions, auth: UpstreamAuth, sourceIp: string, connectMasking: ResponseMasking | undefined): void {
    const { grant, resource, header, log } = ctx;
    const recorder = this.o.shipper.session(grant.sid);
    recorder.record('k8s.session', {
      principal: { id: principal.id, displayName: principal.displayName ?? null, kind: principal.kind, appId: principal.appId ?? null },
      resource: resource.name,
      upstream: auth.describe,
      declared: { userAgent: header.client.userAgent ?? null },
      sourceIp: sourceIp || null,
    });
    const session: K8sSession = {
      id: grant.sid,
      principal,
      resource,
      options,
      auth,
      upstreamAgent: new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
      recorder,
      sourceIp,
      log,
      ...(this.o.requestApproval
        ? { hold: holdThrough(this.o.requestApproval, grant.sid, 'command') }
        : {}),
      ...(this.o.durableApprovals ? { durableApprovals: this.o.durableApprovals } : {}),
      stream,
      ended: false,
      ...(connectMasking ? { connectMasking } : {}),
    };
    this.sessions.set(stream, session);
    this.live.add(session);
    stream.on('error', () => undefined);
    const remaining = grant.sessionExpiresAt * 1000 - Date.now();
    const expiry = setTimeout(() => stream.destroy(), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
    expiry.unref();
    stream.once('close', () => {
      clearTimeout(expiry);
      session.ended = true;
      this.live.delete(session);
      session.upstreamAgent.destroy();
      recorder.record('session.end', { reason: Date.now() >= grant.sessionExpiresAt * 1000 ? 'session expired' : 'stream closed' });
    });
    // Node's HTTP server reads the requests off the stream as off a socket.
    this.server.emit('connection', stream);
  }

  decide(input: PolicyInput): PolicyDecision {
    const current = this.o.policy.current();
    if (!current.engine) return { effect: 'deny', determiningPolicies: [], reasons: [current.reason], errors: [], obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
    return current.engine.evaluate(input);
  }

  /** Whether the current policy could decide on `context.<attribute>` (no policy: nothing is allowed anyway). */
  policyReads(attribute: string): boolean {
    const current = this.o.policy.current();
    return current.engine ? current.engine.readsContext(attribute) : false;
  }

  maskingFor(decision: PolicyDecision): ResponseMasking | undefined {
    return responseMasking(decision.obligations.masking, (this.maskingKey ??= loadMaskingKey(undefined, this.o.spoolDir)));
  }

  private async serve(session: K8sSession, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let attrs: RequestAttributes;
    try {
      attrs = requestAttributes(method, url);
    } catch (error) {
      if (!(error instanceof RequestAttributeError)) throw error;
      req.resume();
      sendStatus(res, 400, 'BadRequest', error.message);
      session.recorder.record('k8s.request', { method, path: recordedText(session, undefined, url.slice(0, 2048)), decision: 'deny', reasons: [error.message], status: 400, durationMs: Date.now() - started });
      return;
    }
    let body: Buffer | undefined;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const read = await readBody(req, MAX_REQUEST_BODY_BYTES);
      if (read === 'too-large') {
        sendStatus(res, 413, 'RequestEntityTooLarge', `request body larger than ${MAX_REQUEST_BODY_BYTES} bytes`);
        return;
      }
      body = read;
    }
    const contentType = req.headers['content-type'];
    const action = actionFor(attrs);
    const bodyRead: BodyRead = readRequestBody(body, contentType);
    const extras: RequestExtras = {};
    if (bodyRead.readable && bodyRead.labels) extras.objectLabels = bodyRead.labels;
    // A Secret that will hold a service account token: decided as issuing a credential too.
    const also = action ? alsoDecidedAs(method, contentType, attrs, bodyRead) : [];
    const createsIfAbsent = mayCreate(method, contentType, attrs, action);
    const record: Record<string, unknown> & { path: string } = {
      method,
      path: url.slice(0, 2048),
      verb: attrs.verb,
      ...(attrs.isResourceRequest
        ? { apiGroup: attrs.apiGroup ?? '', apiVersion: attrs.apiVersion, resource: attrs.resource, subresource: attrs.subresource ?? null, namespace: attrs.namespace ?? null, name: attrs.name ?? null }
        : { nonResource: true }),
      action: action ?? null,
      ...(also.length > 0 ? { alsoActions: also.map((a) => a.action) } : {}),
    };
    const refuse = (code: number, reason: StatusReason, message: string) => {
      const size = sendStatus(res, code, reason, message, undefined, !attrs.isResourceRequest);
      session.recorder.record('k8s.request', { ...record, path: recordedText(session, undefined, record.path), decision: 'deny', policies: [], reasons: [message], status: code, durationMs: Date.now() - started, bytesIn: body?.length ?? 0, bytesOut: size });
    };
    const claim = identityClaimRefusal(req.headers);
    if (claim) return refuse(403, 'Forbidden', claim);
    const review = selfReviewKind(attrs);
    if (review) return this.answerSelfReview(session, review, attrs, body, contentType, record, started, res);
    // An ephemeral container (kubectl debug) runs a command as an exec does: policy sees it as context.command.
    if (attrs.subresource === 'ephemeralcontainers' && action) {
      const commands = bodyRead.readable ? bodyRead.ephemeralCommands : undefined;
      // Several containers' commands are joined by a `;` word (kubectl debug adds one).
      if (commands && commands.length > 0 && commands.every((c) => c !== null)) extras.command = commands.flatMap((c, i) => (i === 0 ? c : [';', ...c]));
      else if (this.policyReads('command')) {
        const why = commands?.includes(null)
          ? "an ephemeral container without a command runs its image's entrypoint, which the gateway cannot see; name the command (kubectl debug ... -- <command>)"
          : 'the ephemeral containers it adds cannot be read from the body';
        return refuse(403, 'Forbidden', `${describeTarget(attrs)}: policy decides on the command an exec runs (context.command), and ${why}`);
      }
    }
    // Labels policy cannot see must not decide a write that policy would decide on them.
    if (!bodyRead.readable && action && LABELLED_WRITES.has(action) && this.policyReads('objectLabels')) {
      return refuse(bodyRead.code, bodyRead.reason, `${describeTarget(attrs)}: policy decides on the labels of the object (context.objectLabels), and ${bodyRead.message}`);
    }
    const decideAs = (as: GatewayAction) => this.decide({ principal: session.principal, action: as, resource: policyResource(session.resource), context: policyContextFor(attrs, extras, session.sourceIp) });
    let decision: PolicyDecision = action
      ? decideAs(action)
      : { effect: 'deny', determiningPolicies: [], reasons: [`the request ${method} ${attrs.path} has no Kubernetes verb the gateway knows`], errors: [], obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
    let decidedAsCreate = false;
    let existence: ExistenceCheck | undefined;
    if (action && createsIfAbsent) {
      const write = await decideWriteThatMayCreate(decision, decideAs('k8s:create'), () => objectExists(session.resource, session.options, attrs), {
        request: method.toUpperCase() === 'PUT' ? 'a PUT' : 'server-side apply',
        action,
      });
      decision = write.decision;
      decidedAsCreate = write.decidedAsCreate;
      existence = write.check;
      if (existence) record.existenceCheck = existence;
      if (decidedAsCreate) record.decidedAs = 'k8s:create';
    }
    for (const extra of also) {
      const stricter = stricterDecision(decision, decideAs(extra.action));
      if (stricter !== decision) decision = { ...stricter, reasons: [`${extra.why}, so it is decided as ${extra.action} too`, ...stricter.reasons] };
    }
    const decided = { decision: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons };
    record.path = recordedText(session, this.maskingFor(decision), record.path);

    if (decision.effect === 'deny') {
      const why = decision.determiningPolicies.length > 0 ? `denied by policy "${decision.determiningPolicies.join('", "')}": ${decision.reasons.join('; ')}` : decision.reasons.join('; ');
      const size = sendStatus(res, 403, 'Forbidden', `${describeTarget(attrs)} is forbidden: ${why}`, {
        ...(attrs.name !== undefined ? { name: attrs.name } : {}),
        ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}),
        ...(attrs.resource !== undefined ? { kind: attrs.resource } : {}),
      }, !attrs.isResourceRequest);
      session.recorder.record('k8s.request', { ...record, ...decided, status: 403, durationMs: Date.now() - started, bytesIn: body?.length ?? 0, bytesOut: size });
      return;
    }
    let approvalId: string | undefined;
    if (decision.effect === 'require_approval') {
      const outcome = await this.held.decide(session, { method, url, body, contentType, attrs: decidedAsCreate ? { ...attrs, verb: 'create' } : attrs, decision, res });
      if (outcome.kind === 'answered') {
        session.recorder.record('k8s.request', { ...record, ...decided, approvalId: outcome.approvalId ?? null, status: outcome.status, durationMs: Date.now() - started, bytesIn: body?.length ?? 0, bytesOut: outcome.bytes });
        return;
      }
      approvalId = outcome.approvalId;
    }
    const answer = this.answerMasking(attrs, decision, decideAs);
    if (answer.identityOnly) record.answer = 'identity only';
    this.forward(session, req, res, body, attrs, answer, (status, bytesOut, bytesIn) => {
      // 201 to a write decided as the update of an object that was there: it was deleted between
      // the agent's check and the write (the API server checks both in one transaction; the gateway cannot).
      const created = createsIfAbsent && status === 201;
      if (created && existence?.exists === true) session.log.warn({ path: record.path }, 'a write decided as an update created the object: it was deleted after the existence check');
      session.recorder.record('k8s.request', { ...record, ...decided, ...(approvalId ? { approvalId } : {}), ...(created ? { created: true } : {}), status, durationMs: Date.now() - started, bytesIn, bytesOut });
    });
  }

  /**
   * The answer to a write is the object as stored (a no-op `PATCH ?dryRun=All` with `{}` returns it
   * whole), so it is masked as a read of it would be as well as by the write's permit: the rules of
   * both decisions (`k8s:get` of a named object, `k8s:list` otherwise). When policy would not let the
   * principal read it at all, only the identity of the objects goes back (kind, apiVersion, name ...).
   */
  /** Answers a self review (kubectl auth can-i / whoami) from the gateway's policy: see self-review.ts. */
  private answerSelfReview(session: K8sSession, kind: SelfReviewKind, attrs: RequestAttributes, body: Buffer | undefined, contentType: string | undefined, record: Record<string, unknown>, started: number, res: ServerResponse): void {
    const done = (status: number, bytesOut: number, extra: Record<string, unknown>) =>
      session.recorder.record('k8s.request', { ...record, ...extra, status, durationMs: Date.now() - started, bytesIn: body?.length ?? 0, bytesOut });
    let answer: Record<string, unknown>;
    let asked: Record<string, unknown> = {};
    try {
      const sent = parseReview(body, kind, contentType);
      let status: Record<string, unknown>;
      if (kind === 'access') {
        const reviewed = reviewedAttributes(sent['spec'] as Record<string, unknown>);
        const action = actionFor(reviewed);
        const decision = action
          ? this.decide({ principal: session.principal, action, resource: policyResource(session.resource), context: policyContextFor(reviewed, {}, session.sourceIp) })
          : undefined;
        status = accessReviewStatus(decision);
        asked = { reviewed: { path: reviewed.path, verb: reviewed.verb, action: action ?? null, effect: decision?.effect ?? 'deny' } };
      } else status = kind === 'rules' ? rulesReviewStatus() : whoamiStatus(session.principal);
      answer = reviewAnswer(kind, attrs, sent, status);
    } catch (error) {
      if (!(error instanceof SelfReviewError)) throw error;
      const size = sendStatus(res, 400, 'BadRequest', error.message);
      done(400, size, { decision: 'deny', policies: [], reasons: [error.message] });
      return;
    }
    const json = JSON.stringify(answer);
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
    done(201, Buffer.byteLength(json), { decision: 'allow', policies: [], reasons: ['a self review, answered by the gateway from its policy'], ...asked });
  }

  answerMasking(attrs: RequestAttributes, decision: PolicyDecision, decideAs: (action: GatewayAction) => PolicyDecision): AnswerMasking {
    if (!attrs.isResourceRequest || !WRITE_VERBS.has(attrs.verb)) return { masking: this.maskingFor(decision) };
    const readAction: GatewayAction = attrs.name !== undefined ? 'k8s:get' : 'k8s:list';
    const read = decideAs(readAction);
    if (read.effect === 'deny') {
      const why = read.determiningPolicies.length > 0 ? `policy "${read.determiningPolicies.join('", "')}"` : 'no policy permits it';
      return { masking: this.maskingFor(decision), identityOnly: `${readAction} of ${describeTarget(attrs)} is denied (${why})` };
    }
    const merged = mergeMasking([decision.obligations.masking, read.obligations.masking]);
    return { masking: this.maskingFor({ ...decision, obligations: { ...decision.obligations, masking: merged } }) };
  }

  private forward(session: K8sSession, req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, attrs: RequestAttributes, answerMasking: AnswerMasking, done: (status: number, bytesOut: number, bytesIn: number) => void): void {
    const { auth, resource } = session;
    const headers = upstreamHeaders(req.headers, auth, false);
    if (body) {
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
    }
    let bytesIn = body?.length ?? 0;
    const upstream = httpsRequest({
      host: resource.address.host,
      port: resource.address.port,
      method: req.method,
      path: req.url,
      headers,
      ca: auth.ca,
      ...(auth.servername ? { servername: auth.servername } : {}),
      ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}),
      agent: session.upstreamAgent,
    });
    let reported = false;
    const report = (status: number, bytesOut: number) => {
      if (reported) return;
      reported = true;
      done(status, bytesOut, bytesIn);
    };
    upstream.on('response', (answer: IncomingMessage) => {
      const status = answer.statusCode ?? 502;
      const { masking } = answerMasking;
      const contentType = answer.headers['content-type'];
      const encoding = answer.headers['content-encoding'];
      // An encoded answer (asked for or not) is as unreadable as protobuf: never passed on unmasked.
      const readableType = encoding && encoding !== 'identity' ? 'application/octet-stream' : typeof contentType === 'string' ? contentType : '';
      // Streamed answers (watches, `logs -f`) are masked line by line; `follow` is read as the API server reads it.
      const query = queryOf(req.url ?? '/');
      const streaming = attrs.verb === 'watch' || queryBool(query.get('watch')) || queryBool(query.get('follow'));
      const transform = answerMasking.identityOnly !== undefined
        ? identityOnly(readableType, answerMasking.identityOnly)
        : masking?.transformFor(attrs, readableType, streaming);
      const raw = answer.rawHeaders;
      const outHeaders: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
        // A masked body changes length: it goes out chunked.
        if (transform && name === 'content-length') continue;
        outHeaders.push(raw[i]!, raw[i + 1]!);
      }
      res.writeHead(status, answer.statusMessage, outHeaders);
      let bytesOut = 0;
      const source = transform ? answer.pipe(transform) : answer;
      source.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      source.pipe(res);
      const fail = () => {
        res.destroy();
        report(status, bytesOut);
      };
      answer.once('error', fail);
      transform?.once('error', (error: Error) => {
        session.log.warn({ err: error.message }, 'an answer could not be masked; cut off');
        fail();
      });
      res.once('finish', () => report(status, bytesOut));
      res.once('close', () => {
        if (!res.writableFinished) {
          upstream.destroy();
          report(status, bytesOut);
        }
      });
    });
    upstream.on('error', (error: Error & { code?: string }) => {
      const sent = sendStatus(res, 503, 'ServiceUnavailable', `the API server of ${resource.name} could not be reached (${error.code ?? error.message})`);
      report(503, sent);
    });
    if (body) upstream.end(body);
    else {
      req.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      req.pipe(upstream);
    }
  }

  private async upgrade(session: K8sSession, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    await this.exec.handle(session, req, socket, head);
  }
}

export function policyResource(resource: AgentResource): PolicyInput['resource'] {
  return { name: resource.name, type: 'kubernetes', ...(resource.environment !== undefined ? { environment: resource.environment } : {}), labels: resource.labels };
}
