import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthContext, Client, ClientChannel, Connection, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import type { Logger } from 'pino';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { refuseOnChannel, spliceSessionChannel, type OutputFilterFactory } from '@gw/ssh-relay';
import { ChannelTextMasker } from '../output-masking/channel-text-masker.js';
import { envRefusal } from './env-filter.js';
import { IoRecorder } from './io-recorder.js';
import { SftpInspector } from './sftp-inspector.js';
import type { ApprovalOutcome, HoldForApproval } from '../../approvals/approval-client.js';
import { Masker, type MaskingRules } from '@gw/masking';
import { channelMasking, decideSsh, heldNotice, heldRefusal, isFileTransferServer, refusalMessage, type SshPolicyContext, type SshRequest, type SshVerdict } from './ssh-policy.js';
import { SSH_INNER_ALGORITHMS } from '@gw/contracts';

/** Exit status of a command the gateway refused (the shell's "cannot execute"). */
export const REFUSED_EXIT_STATUS = 126;
/** How long a refused exec's channel stays open for the client's input to be recorded. */
const REFUSED_INPUT_WAIT_MS = 2000;

export interface SshSessionOptions {
  /** The tunnel stream from the control plane: an SSH connection in which the control plane is the client. */
  stream: Duplex;
  /** The inner link's host key (OpenSSH private key text). */
  hostKey: string;
  upstream: Client;
  login: string;
  policy: PolicyHolder;
  policyContext: SshPolicyContext;
  recorder: SessionRecorder;
  recordOutputLimitBytes: number;
  /** Variables a client's `env` requests may pass to the target (see env-filter.ts). */
  acceptEnv: readonly string[];
  /** HMAC key of the `hash` mask style in recordings. */
  maskingKey: Buffer;
  log: Logger;
  /** Holds a request whose decision is require_approval (absent: such requests are refused). */
  holdForApproval?: HoldForApproval;
  onEnd(reason: string): void;
}

/** How a held request was settled, for the recording. */
interface ApprovalNote {
  id: string | undefined;
  status: ApprovalOutcome['status'];
  scope?: 'once' | 'session';
  by?: string | null;
}

/** A request's gate: whether it may go on, and how an approval settled it. */
interface GateResult {
  verdict: SshVerdict;
  refusal?: string;
  approval?: ApprovalNote;
}

/**
 * One SSH session on the agent: the control plane's inner SSH connection (server side, on the tunnel
 * stream) and the target connection (client side, logged in with the session's certificate). Every
 * channel and request is decided by policy here, replayed to the target if allowed, and recorded.
 */
export class SshSession {
  private channelSeq = 0;
  private ended = false;
  /** Aborts every wait for an approval when the session ends. */
  private readonly lifetime = new AbortController();
  /** Requests approved with scope `session`: the same request runs again without asking. */
  private readonly approvedForSession = new Set<string>();
  private connection: Connection | undefined;
  /** Maskers by entity rules: a session's channels mostly share one. */
  private readonly maskers = new Map<string, Masker>();

  constructor(private readonly o: SshSessionOptions) {
    const server = new ssh2.Server({ hostKeys: [o.hostKey], algorithms: { cipher: [...SSH_INNER_ALGORITHMS.cipher], kex: [...SSH_INNER_ALGORITHMS.kex], serverHostKey: [...SSH_INNER_ALGORITHMS.serverHostKey], compress: [...SSH_INNER_ALGORITHMS.compress] }, ident: 'gw-agent', ...(o.log.isLevelEnabled('trace') ? { debug: (m: string) => o.log.trace(m) } : {}) }, (connection) => this.onConnection(connection));
    server.injectSocket(o.stream as unknown as import('node:net').Socket);
    o.upstream.on('close', () => this.end('the target closed the connection'));
    o.upstream.on('error', (error) => o.log.warn({ err: error.message }, 'target connection error'));
  }

  /** Ends the session from the agent's side (expiry, shutdown). */
  terminate(reason: string): void {
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.lifetime.abort(reason);
    this.o.upstream.end();
    this.connection?.end();
    this.o.stream.destroy();
    this.o.onEnd(reason);
  }

  private onConnection(connection: Connection): void {
    this.connection = connection;
    connection.on('error', (error) => this.o.log.debug({ err: error.message }, 'inner connection error'));
    connection.on('close', () => this.end('the control plane closed the session'));
    // The tunnel grant already authenticated this session; the inner SSH layer only carries channels.
    connection.on('authentication', (ctx: AuthContext) => (ctx.method === 'none' && ctx.username === this.o.login ? ctx.accept() : ctx.reject(['none'])));
    connection.on('ready', () => {
      connection.on('session', (accept) => this.onSession(accept()));
      connection.on('tcpip', (accept, reject, info) => {
        this.onForward(accept, reject, info).catch((error: unknown) => this.o.log.error({ err: error }, 'serving a forward failed'));
      });
      connection.on('request', (_accept, reject, name) => {
        this.o.recorder.record('ssh.refused', { request: name, reason: 'remote forwarding and other global requests are not allowed through the gateway' });
        reject?.();
      });
    });
  }

  private decide(request: SshRequest): Promise<SshVerdict> {
    return decideSsh(this.o.policy, this.o.policyContext, request);
  }

  /**
   * allow, or the refusal message. `require_approval` holds the request: the approval is asked for,
   * `notify` tells the client its id at once (stderr), and only an `approved` decision lets it run;
   * `cancel` (the client closed the channel) and the session's end abort the wait.
   */
  private async gate(request: SshRequest, what: string, notify?: (line: string) => void, cancel?: AbortSignal): Promise<GateResult> {
    const verdict = await this.decide(request);
    if (verdict.effect === 'allow') return { verdict };
    if (verdict.effect === 'deny') return { verdict, refusal: refusalMessage(verdict, what) };
    const key = JSON.stringify(request);
    if (this.approvedForSession.has(key)) return { verdict, approval: { id: undefined, status: 'approved', scope: 'session' } };
    const outcome = await this.hold(verdict, request, what, notify, cancel);
    if (outcome.status === 'approved') {
      if (outcome.scope === 'session') this.approvedForSession.add(key);
      return { verdict, approval: { id: outcome.approvalId, status: 'approved', scope: outcome.scope, by: outcome.by } };
    }
    return { verdict, refusal: heldRefusal(verdict, what, outcome), approval: { id: outcome.approvalId, status: outcome.status, ...('by' in outcome ? { by: outcome.by } : {}) } };
  }

  private hold(verdict: SshVerdict, request: SshRequest, what: string, notify?: (line: string) => void, cancel?: AbortSignal): Promise<ApprovalOutcome> {
    if (!this.o.holdForApproval) return Promise.resolve({ status: 'unavailable', reason: 'approvals are not available on this agent' });
    const subject = {
      protocol: 'ssh', login: this.o.login, ...request, policies: verdict.policies, reasons: verdict.reasons,
      ...(verdict.analysis ? { programs: verdict.analysis.programs, flags: verdict.analysis.flags, writesFiles: verdict.analysis.writesFiles, interpreter: verdict.analysis.interpreter } : {}),
    };
    return this.o.holdForApproval(subject, verdict.approval, {
      signal: cancel ? AbortSignal.any([this.lifetime.signal, cancel]) : this.lifetime.signal,
      onRequested: (info) => notify?.(heldNotice(what, info.approvalId, info.expiresAt, info.approveUrl)),
    });
  }

  private onSession(session: Session): void {
    const channel = ++this.channelSeq;
    let pty: PseudoTtyInfo | undefined;
    const env: Record<string, string> = {};
    let started: ClientChannel | undefined;
    let io: IoRecorder | undefined;
    session.on('pty', (accept, _reject, info) => {
      pty = info;
      accept?.();
    });
    session.on('env', (accept, reject, info) => {
      const name = String(info.key).slice(0, 256);
      const refused = envRefusal(name, this.o.acceptEnv) ?? (Object.keys(env).length >= 64 ? 'more than 64 variables' : undefined);
      if (refused) {
        this.o.recorder.record('ssh.refused', { channel, request: `env ${name.slice(0, 64)}`, reason: refused });
        return reject?.();
      }
      env[name] = String(info.val).slice(0, 4096);
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      started?.setWindow(info.rows, info.cols, info.height, info.width);
      io?.resize(info.cols, info.rows);
      this.o.recorder.record('ssh.resize', { channel, cols: info.cols, rows: info.rows });
      accept?.();
    });
    session.on('signal', (accept, _reject, info) => {
      started?.signal(info.name);
      this.o.recorder.record('ssh.signal', { channel, signal: info.name });
      accept?.();
    });
    session.on('x11', (_accept, reject) => {
      this.o.recorder.record('ssh.refused', { channel, request: 'x11', reason: 'X11 forwarding is not allowed through the gateway' });
      reject?.();
    });
    session.on('auth-agent', (_accept, reject) => {
      this.o.recorder.record('ssh.refused', { channel, request: 'auth-agent', reason: 'agent forwarding is not allowed through the gateway' });
      reject?.();
    });

    const failed = (error: unknown): void => this.o.log.error({ err: error, channel }, 'serving an ssh request failed');
    const terminal = () => (pty ? { term: pty.term, cols: pty.cols, rows: pty.rows } : null);
    const start = async (
      kind: 'exec' | 'shell',
      accept: () => ServerChannel,
      request: SshRequest,
      open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void,
      what: string,
      command?: string,
    ) => {
      // Accepted at once (the client may send EOF right behind its request); a held request keeps the
      // client waiting on an open channel, as a held SQL statement does.
      const outer = accept();
      if (!outer) return;
      const closed = new AbortController();
      outer.once('close', () => closed.abort('the client closed the channel while it was held'));
      const { verdict, refusal, approval } = await this.gate(request, what, (line) => outer.stderr.write(line), closed.signal);
      // Everything of this channel that the recording keeps is masked by the connect and request
      // obligations, refused or not: a command line or a piped script can carry PII as well as output.
      const masker = this.maskerFor(channelMasking(this.o.policy, this.o.policyContext, verdict));
      const recorded = await this.recordBeforeRunning(`ssh.${kind}`, {
        channel, ...(command !== undefined ? { command: maskStrings(command, masker) } : {}), pty: terminal(), env: maskStrings(env, masker),
        decision: refusal ? (verdict.effect === 'allow' ? 'deny' : verdict.effect) : 'allow', policies: verdict.policies, reasons: verdict.reasons,
        ...(verdict.decidedAs !== request.action ? { decidedAs: verdict.decidedAs } : {}),
        ...(verdict.analysis ? { analysis: maskStrings(verdict.analysis, masker) } : {}),
        ...(approval ? { approval } : {}),
      });
      if (!recorded) return refuseOnChannel(outer, `gateway: the recording could not be written to disk; the ${kind === 'exec' ? 'command' : 'shell'} was not started`, 1);
      if (refusal) {
        this.o.log.info({ channel, kind, policies: verdict.policies }, 'ssh request refused');
        // What the client piped in (`echo 'rm -rf x' | ssh host bash`) is evidence even when refused.
        if (kind === 'exec') return this.refuseAfterInput(outer, channel, refusal, masker);
        return refuseOnChannel(outer, refusal, REFUSED_EXIT_STATUS);
      }
      if (this.ended) return refuseOnChannel(outer, 'gateway: the connection to the target is gone', 1);
      open((err, upstream) => {
        if (err) return refuseOnChannel(outer, `gateway: the target refused the ${kind} request: ${err.message}`, 1);
        started = upstream;
        io = new IoRecorder(this.o.recorder, channel, this.o.recordOutputLimitBytes, masker);
        const rec = io;
        // A command's output comes back masked, as query results do. A terminal (a shell, `ssh -t`)
        // is masked only in the recording: rewriting a screen's bytes breaks what draws it. The ends
        // of a file copy (scp -t/-f, rsync --server) pass as they are, like sftp: a copy is decided
        // and recorded, and masking would corrupt its protocol.
        const live = masker && kind === 'exec' && !pty && !isFileTransferServer(verdict.analysis);
        const outputFilter: OutputFilterFactory | undefined = live
          ? (release) => {
              const text = new ChannelTextMasker(masker, (bytes) => release(bytes));
              return { write: (chunk) => text.write(chunk), end: () => text.close() };
            }
          : undefined;
        spliceSessionChannel(outer, upstream, {
          // A terminal's keystrokes, and an exec's stdin too: a script piped into a command is code
          // that ran, and must be in the recording like typed input.
          input: (c: Buffer) => rec.data('i', c),
          output: (c) => rec.data('o', c),
          stderr: (c) => rec.data('e', c),
          exit: (status) => this.o.recorder.record('ssh.exit', { channel, ...status }),
          closed: () => rec.close(),
        }, { ...(outputFilter ? { outputFilter } : {}) });
      });
    };

    session.on('exec', (accept, _reject, info) => {
      const command = info.command;
      start('exec', accept, { action: 'ssh:exec', command, pty: pty !== undefined }, (cb) => this.o.upstream.exec(command, { env, ...(pty ? { pty } : {}) }, cb), 'command', command).catch(failed);
    });
    session.on('shell', (accept) => {
      start('shell', accept, { action: 'ssh:shell', pty: pty !== undefined }, (cb) => this.o.upstream.shell(pty ?? false, { env }, cb), 'interactive shell').catch(failed);
    });
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== 'sftp') {
        this.o.recorder.record('ssh.refused', { channel, request: `subsystem ${info.name}`, reason: 'only the sftp subsystem is served' });
        return reject?.();
      }
      this.onSftp(channel, accept).catch(failed);
    });
  }

  /**
   * Records a request's decision and waits until it is on disk (one group flush, shared with every
   * other session), so that a command's output, a shell, a transfer or a forward never reaches the
   * client before its record could survive an agent crash. False when the journal cannot make it
   * durable: the caller refuses the request (fail closed).
   */
  private async recordBeforeRunning(type: string, data: Record<string, unknown>): Promise<boolean> {
    try {
      await this.o.recorder.recordDurable(type, data);
      return true;
    } catch (error) {
      this.o.log.error({ err: error, type }, 'recording write failed; request refused');
      return false;
    }
  }

  /**
   * Refuses an exec but records what the client sends first. The refusal (stderr, exit status) goes out
   * at once; the channel is closed when the client ends its input (a piped script: at once) or after
   * REFUSED_INPUT_WAIT_MS. Closing right away would make the client stop before sending its stdin.
   */
  private refuseAfterInput(outer: ServerChannel, channel: number, refusal: string, masker: Masker | undefined): void {
    const io = new IoRecorder(this.o.recorder, channel, this.o.recordOutputLimitBytes, masker);
    outer.on('error', () => undefined);
    outer.on('data', (c: Buffer) => io.data('i', c));
    outer.once('close', () => io.close());
    outer.stderr.write(`${refusal}\r\n`);
    outer.exit(REFUSED_EXIT_STATUS);
    const timer = setTimeout(() => outer.end(), REFUSED_INPUT_WAIT_MS);
    timer.unref();
    outer.once('end', () => {
      clearTimeout(timer);
      outer.end();
    });
    outer.once('close', () => clearTimeout(timer));
  }

  /** A masker for entity rules (column rules mean nothing to a byte stream), or none without any. */
  private maskerFor(rules: MaskingRules): Masker | undefined {
    if (rules.entities.length === 0) return undefined;
    const key = JSON.stringify(rules.entities);
    let masker = this.maskers.get(key);
    if (!masker) {
      masker = new Masker({ entities: rules.entities, columns: [] }, { key: this.o.maskingKey });
      this.maskers.set(key, masker);
    }
    return masker;
  }

  private async onSftp(channel: number, accept: () => ServerChannel): Promise<void> {
    const outer = accept();
    if (!outer) return;
    const closed = new AbortController();
    outer.once('close', () => closed.abort('the client closed the channel while it was held'));
    const { verdict, refusal, approval } = await this.gate({ action: 'ssh:sftp' }, 'sftp', undefined, closed.signal);
    const recorded = await this.recordBeforeRunning('ssh.sftp.start', {
      channel, decision: refusal ? (verdict.effect === 'allow' ? 'deny' : verdict.effect) : 'allow', policies: verdict.policies, reasons: verdict.reasons,
      ...(approval ? { approval } : {}),
    });
    if (!recorded) return refuseOnChannel(outer, 'gateway: the recording could not be written to disk; sftp was not started', 1);
    if (refusal) return refuseOnChannel(outer, refusal, REFUSED_EXIT_STATUS);
    if (this.ended) return refuseOnChannel(outer, 'gateway: the connection to the target is gone', 1);
    this.o.upstream.subsys('sftp', (err, upstream) => {
      if (err) return refuseOnChannel(outer, `gateway: the target refused the sftp subsystem: ${err.message}`, 1);
      const inspector = new SftpInspector((op) => this.o.recorder.record('ssh.sftp', { channel, ...op }));
      spliceSessionChannel(outer, upstream, {
        input: (c) => inspector.clientData(c),
        output: (c) => inspector.serverData(c),
        closed: () => {
          inspector.end();
          this.o.recorder.record('ssh.sftp.end', { channel });
        },
      });
    });
  }

  private async onForward(
    accept: () => ServerChannel,
    reject: () => void,
    info: { destIP: string; destPort: number; srcIP: string; srcPort: number },
  ): Promise<void> {
    const request: SshRequest = { action: 'ssh:forward', host: info.destIP, port: info.destPort };
    const { verdict, refusal, approval } = await this.gate(request, `forwarding to ${info.destIP}:${info.destPort}`);
    const channel = ++this.channelSeq;
    const recorded = await this.recordBeforeRunning('ssh.forward', {
      channel, host: info.destIP, port: info.destPort, decision: refusal ? (verdict.effect === 'allow' ? 'deny' : verdict.effect) : 'allow',
      policies: verdict.policies, reasons: verdict.reasons, ...(approval ? { approval } : {}),
    });
    if (!recorded || refusal || this.ended) return reject();
    this.o.upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, upstream) => {
      if (err) {
        this.o.recorder.record('ssh.forward.failed', { channel, error: err.message });
        return reject();
      }
      const outer = accept();
      let bytesIn = 0;
      let bytesOut = 0;
      outer.on('data', (c: Buffer) => (bytesIn += c.length));
      upstream.on('data', (c: Buffer) => (bytesOut += c.length));
      outer.pipe(upstream).pipe(outer);
      outer.on('error', () => upstream.close());
      upstream.on('error', () => outer.close());
      upstream.once('close', () => {
        outer.close();
        this.o.recorder.record('ssh.forward.end', { channel, bytesIn, bytesOut });
      });
      outer.once('close', () => upstream.close());
    });
  }
}

/** `value` with every string in it (object values and array items too) masked. */
function maskStrings<T>(value: T, masker: Masker | undefined): T {
  if (!masker) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return masker.maskEntities(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
