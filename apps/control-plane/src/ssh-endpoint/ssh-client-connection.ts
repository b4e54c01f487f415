import ssh2 from 'ssh2';
import type { AuthContext, ClientCallback, ClientChannel, ClientInfo, Connection, KeyboardAuthContext, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { parseSshUsername } from '@gw/contracts';
import { TokenRejectedError, type Principal } from '@gw/identity';
import type { Logger } from 'pino';
import { SessionRefused, type OpenedSession, type SessionBroker } from '../connect/session-broker.service.js';
import type { TokenAuthenticator } from '../identity/token-authenticator.js';
import { refuseOnChannel, spliceSessionChannel } from '@gw/ssh-relay';
import { innerSshConfig } from './inner-ssh.js';
import { TokenAnswers } from './token-answers.js';

const MAX_AUTH_FAILURES = 3;
/** ssh's own exit status for a connection-level failure; used when the gateway cannot serve a channel. */
const GATEWAY_EXIT_STATUS = 255;
const AUTH_METHODS = ['password', 'keyboard-interactive'] as const;
/** A client that has not authenticated by then is disconnected (ssh2 has no login timeout of its own). */
const LOGIN_TIMEOUT_MS = 60_000;
const MAX_ENV_VARIABLES = 64;

export interface SshConnectionDeps {
  tokens: TokenAuthenticator;
  broker: SessionBroker;
  log: Logger;
}

type Target = { login: string; resource: string };
type InnerState = { inner: ssh2.Client } | { error: string };

/**
 * One user's connection to the SSH endpoint. The user name names the login and the resource
 * (`<login>@<resource>`), the password (or keyboard-interactive answer) is the OIDC token. Once the
 * token is verified, the session is opened through the SessionBroker (connect policy, agent, grant)
 * and every channel and request of the user is replayed on an inner SSH connection over the tunnel
 * stream; the agent decides and records each one. A session that cannot open (connect refused, agent
 * offline, target down) is reported on each channel the user opens: a message on stderr and exit 255.
 */
export class SshClientConnection {
  private principal?: Principal;
  private target?: Target;
  private failures = 0;
  private state?: Promise<InnerState>;
  private opened?: OpenedSession;
  private inner?: ssh2.Client;
  private readonly channels = new Set<ServerChannel>();
  private bytesIn = 0;
  private bytesOut = 0;
  private closed = false;
  private terminating = false;
  private endReason?: string;
  private readonly loginTimer: NodeJS.Timeout;

  constructor(
    private readonly client: Connection,
    private readonly info: ClientInfo,
    private readonly deps: SshConnectionDeps,
  ) {
    this.loginTimer = setTimeout(() => client.end(), LOGIN_TIMEOUT_MS);
    this.loginTimer.unref();
    client.on('authentication', (ctx) => this.onAuthentication(ctx));
    client.on('ready', () => {
      clearTimeout(this.loginTimer);
      this.onReady();
    });
    client.on('error', (error) => deps.log.debug({ err: error.message }, 'ssh client connection error'));
    client.on('close', () => this.teardown());
  }

  private onAuthentication(ctx: AuthContext): void {
    const target = parseSshUsername(ctx.username);
    if (!target) {
      this.deps.log.info({ username: ctx.username.slice(0, 100), sourceIp: this.info.ip }, 'ssh user name is not <login>@<resource>');
      return ctx.reject([...AUTH_METHODS]);
    }
    switch (ctx.method) {
      case 'password':
        return this.verify(ctx, target, ctx.password);
      case 'keyboard-interactive':
        return this.promptToken(ctx, target);
      default:
        return ctx.reject([...AUTH_METHODS]);
    }
  }

  /** Asks for the token; an answer of exactly OpenSSH's limit is taken as cut and the rest is asked for. */
  private promptToken(ctx: KeyboardAuthContext, target: Target): void {
    const answers = new TokenAnswers();
    const ask = (prompt: string): void =>
      ctx.prompt([{ prompt, echo: false }], 'Gateway login', '', (responses) => {
        if (!Array.isArray(responses)) return; // aborted by the client
        const token = answers.add(String(responses[0] ?? ''));
        if (token === undefined) return ask('OIDC access token (continued): ');
        this.verify(ctx, target, token);
      });
    ask('OIDC access token: ');
  }

  private verify(ctx: AuthContext, target: Target, token: string): void {
    this.deps.tokens.authenticate(token.trim(), { sourceIp: this.info.ip, path: 'ssh' }).then(
      (principal) => {
        this.principal = principal;
        this.target = target;
        ctx.accept();
      },
      (error: unknown) => {
        if (!(error instanceof TokenRejectedError)) this.deps.log.error({ err: error }, 'token verification failed');
        ctx.reject([...AUTH_METHODS]);
        if (++this.failures >= MAX_AUTH_FAILURES) this.client.end();
      },
    );
  }

  private onReady(): void {
    this.state = this.openSession();
    this.client.on('session', (accept) => this.onSession(accept()));
    this.client.on('tcpip', (accept, reject, info) => {
      this.onForward(accept, reject, info).catch((error: unknown) => this.deps.log.error({ err: error }, 'forwarding failed'));
    });
    // Remote forwarding (-R), streamlocal and other global requests are not served.
    this.client.on('request', (_accept, reject) => reject?.());
    this.client.on('openssh.streamlocal', (_accept, reject) => reject());
  }

  private async openSession(): Promise<InnerState> {
    const principal = this.principal!;
    const target = this.target!;
    let opened: OpenedSession;
    try {
      opened = await this.deps.broker.open({
        principal,
        resourceName: target.resource,
        role: target.login,
        expectedType: 'ssh',
        sourceAddress: this.info.ip ?? null,
        declared: { client: 'ssh', applicationName: this.info.header.identRaw.slice(0, 256) },
        onTerminate: (_code, reason) => this.terminate(reason),
      });
    } catch (error) {
      if (error instanceof SessionRefused) return { error: error.message };
      this.deps.log.error({ err: error }, 'opening an ssh session failed');
      return { error: 'internal error while opening the session' };
    }
    this.opened = opened;
    if (this.closed) {
      opened.stream.destroy();
      await this.finish();
      return { error: 'client gone' };
    }
    const inner = new ssh2.Client();
    this.inner = inner;
    inner.on('error', (error) => this.deps.log.debug({ err: error.message }, 'inner ssh connection error'));
    try {
      await new Promise<void>((resolve, reject) => {
        inner.once('ready', resolve);
        inner.once('error', reject);
        inner.connect(innerSshConfig(opened.stream, target.login, 'gw-control-plane'));
      });
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'inner ssh connection to the agent failed');
      this.endReason = 'the agent did not complete the session';
      this.client.end();
      return { error: `the agent serving "${target.resource}" did not complete the session` };
    }
    inner.on('close', () => this.terminate(this.endReason ?? `the agent serving "${target.resource}" was lost`));
    return { inner };
  }

  private onSession(session: Session): void {
    let pty: PseudoTtyInfo | undefined;
    const env: Record<string, string> = {};
    let innerChannel: ClientChannel | undefined;
    session.on('pty', (accept, _reject, info) => {
      pty = info;
      accept?.();
    });
    session.on('env', (accept, reject, info) => {
      if (Object.keys(env).length >= MAX_ENV_VARIABLES) return reject?.();
      env[String(info.key).slice(0, 256)] = String(info.val).slice(0, 4096);
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      if (innerChannel) innerChannel.setWindow(info.rows, info.cols, info.height, info.width);
      else if (pty) pty = { ...pty, rows: info.rows, cols: info.cols, height: info.height, width: info.width };
      accept?.();
    });
    session.on('signal', (accept, _reject, info) => {
      innerChannel?.signal(info.name);
      accept?.();
    });
    // Never replayed: the agent would refuse them too, but they stop here.
    session.on('x11', (_accept, reject) => reject?.());
    session.on('auth-agent', (_accept, reject) => reject?.());

    // Accepted at once: a client may send EOF right after its request (`ssh host cmd </dev/null`), and
    // ssh2 refuses to accept a request once the channel is ending. Input waits in the channel (its
    // window bounds it) until the inner channel is open.
    const start = (accept: () => ServerChannel, open: (inner: ssh2.Client, cb: ClientCallback) => void): void => {
      const outer = accept();
      if (!outer) return;
      this.state!.then((state) => {
        if ('error' in state) return refuseOnChannel(outer, `gateway: ${state.error}`, GATEWAY_EXIT_STATUS);
        this.channels.add(outer);
        outer.once('close', () => this.channels.delete(outer));
        try {
          open(state.inner, (err, channel) => {
            if (err) return refuseOnChannel(outer, `gateway: ${err.message}`, GATEWAY_EXIT_STATUS);
            innerChannel = channel;
            spliceSessionChannel(outer, channel, {
              input: (c) => (this.bytesIn += c.length),
              output: (c) => (this.bytesOut += c.length),
              stderr: (c) => (this.bytesOut += c.length),
            });
          });
        } catch (error) {
          // ssh2 throws "Not connected" when the agent's connection went away in the meantime.
          refuseOnChannel(outer, `gateway: ${this.endReason ?? (error as Error).message}`, GATEWAY_EXIT_STATUS);
        }
      }).catch((error: unknown) => this.deps.log.error({ err: error }, 'serving an ssh channel failed'));
    };
    session.on('exec', (accept, _reject, info) => start(accept, (inner, cb) => inner.exec(info.command, { env, ...(pty ? { pty } : {}) }, cb)));
    session.on('shell', (accept) => start(accept, (inner, cb) => inner.shell(pty ?? false, { env }, cb)));
    session.on('subsystem', (accept, _reject, info) => start(accept, (inner, cb) => inner.subsys(info.name, cb)));
  }

  private async onForward(
    accept: () => ServerChannel,
    reject: () => void,
    info: { srcIP: string; srcPort: number; destIP: string; destPort: number },
  ): Promise<void> {
    const state = await this.state!;
    if ('error' in state) return reject();
    if (this.terminating || this.closed) return reject();
    state.inner.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, channel) => {
      if (err) return reject();
      const outer = accept();
      outer.on('data', (c: Buffer) => (this.bytesIn += c.length));
      channel.on('data', (c: Buffer) => (this.bytesOut += c.length));
      outer.pipe(channel).pipe(outer);
      outer.on('error', () => channel.close());
      channel.on('error', () => outer.close());
      outer.once('close', () => channel.close());
      channel.once('close', () => outer.close());
    });
  }

  /** Ends the session from the gateway's side (kill, time limit, agent lost): says why on every open channel. */
  private terminate(reason: string): void {
    if (this.closed || this.terminating) return;
    this.terminating = true;
    this.endReason ??= reason;
    for (const channel of this.channels) {
      try {
        refuseOnChannel(channel, `\r\ngateway: ${reason}`, GATEWAY_EXIT_STATUS);
      } catch {
        /* channel already gone */
      }
    }
    // Let the messages leave before the connection closes.
    setTimeout(() => this.client.end(), 200).unref();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.loginTimer);
    this.inner?.end();
    void this.finish();
  }

  private async finish(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    setTimeout(() => opened.stream.destroy(), 2000).unref();
    await opened
      .finish({
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        endedBy: this.endReason ? 'resource' : 'client',
        ...(this.endReason ? { error: new Error(this.endReason) } : {}),
      })
      .catch((err: unknown) => this.deps.log.warn({ err }, 'closing the session record failed'));
  }
}
