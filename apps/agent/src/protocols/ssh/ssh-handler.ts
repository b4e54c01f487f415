import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Client, PublicKeyAuthMethod } from 'ssh2';
import type { Logger } from 'pino';
import type { ProtocolHandler, ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import type { RecordingShipper } from '../../recording/recording-shipper.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { principalFromGrant } from '../postgres/statement-policy.js';
import { issueSessionCertificate } from './certificate-auth.js';
import { loadOrCreateCaKey } from './ssh-ca.js';
import { loadHostKeys, type SshOptions } from './ssh-config.js';
import { SshSession } from './ssh-session.js';
import { holdThrough, type RequestApproval } from '../../approvals/approval-client.js';
import { generateEd25519KeyPair } from '@gw/ssh-relay';
import { loadMaskingKey } from '../postgres/masking-key.js';

export const SSH_CONNECT_TIMEOUT_MS = 10_000;
/** Extensions of a session certificate: a terminal and port forwarding (each forward is still decided by policy). */
const CERTIFICATE_EXTENSIONS = ['permit-port-forwarding', 'permit-pty'];

export interface SshHandlerOptions {
  policy: PolicyHolder;
  shipper: RecordingShipper;
  spoolDir: string;
  log: Logger;
  /** Asks the control plane to approve a held command (absent: such commands are refused). */
  requestApproval?: RequestApproval;
}

/** Why the target could not be reached or refused the login, in words for the client. */
export function describeTargetError(error: Error & { code?: string; level?: string }, resource: string, login: string, hostKeyRejected: boolean): string {
  if (hostKeyRejected) return `ssh target ${resource} presented a host key that is not in the agent's hostKeys for it; refused`;
  switch (error.code ?? '') {
    case 'ECONNREFUSED':
      return `ssh target ${resource} refused the connection (ECONNREFUSED): is sshd running?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `ssh target ${resource}: host name does not resolve (${error.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `ssh target ${resource} is unreachable (${error.code})`;
    default:
  }
  if (error.level === 'client-authentication') {
    return `ssh target ${resource} refused the gateway's login as "${login}" (is the agent's CA in TrustedUserCAKeys, and is "${login}" a login there?)`;
  }
  if (error.level === 'client-timeout' || /timed out/i.test(error.message)) return `ssh target ${resource} did not answer within ${SSH_CONNECT_TIMEOUT_MS / 1000} s`;
  return `ssh target ${resource}: ${error.message}`;
}

/**
 * Serves `ssh` streams: logs in to the target first (a per-session certificate, or the fixed key),
 * so that a target that is down or refuses is reported before the stream is accepted; then runs an
 * SshSession between the control plane's inner SSH connection and the target.
 */
export class SshHandler implements ProtocolHandler {
  readonly type = 'ssh' as const;
  private readonly sessions = new Map<string, SshSession>();
  private readonly cas = new Map<string, KeyObject>();
  /** The inner link's host key: ephemeral, since the tunnel grant authenticates the session. */
  private readonly innerHostKey = generateEd25519KeyPair().private;
  /** The `hash` mask style's key for SSH recordings: the agent's generated one (<spoolDir>/masking.key). */
  private maskingKey: Buffer | undefined;

  constructor(private readonly o: SshHandlerOptions) {}

  get openSessions(): number {
    return this.sessions.size;
  }

  close(): void {
    for (const s of this.sessions.values()) s.terminate('the gateway agent is shutting down');
  }

  /** The CA key of a resource (made at first use). */
  caKey(options: SshOptions): KeyObject {
    const path = options.caKeyFile ?? join(this.o.spoolDir, 'ssh-ca.key');
    let key = this.cas.get(path);
    if (!key) {
      key = loadOrCreateCaKey(path);
      this.cas.set(path, key);
    }
    return key;
  }

  open(ctx: ProtocolOpenContext): void {
    const { resource, grant, header, log } = ctx;
    const options = resource.ssh;
    if (!options) return ctx.reject('REJECTED', `resource ${resource.name} has no ssh block in the agent config`);
    let auth: PublicKeyAuthMethod;
    let certificate: ReturnType<typeof issueSessionCertificate> | undefined;
    try {
      if (options.mode === 'certificate') {
        certificate = issueSessionCertificate(this.caKey(options), {
          login: grant.login,
          sessionId: grant.sid,
          principalId: grant.principal.id,
          principalName: grant.principal.displayName,
          validBefore: grant.sessionExpiresAt,
          extensions: CERTIFICATE_EXTENSIONS,
        });
        auth = { type: 'publickey', username: grant.login, key: certificate.key };
      } else {
        auth = { type: 'publickey', username: grant.login, key: resource.credentials?.['privateKey']?.reveal() ?? '' };
      }
    } catch (error) {
      log.error({ err: error }, 'preparing ssh credentials failed');
      return ctx.reject('RESOURCE_UNAVAILABLE', `the agent could not prepare credentials for ${resource.name}: ${(error as Error).message}`);
    }

    let allowed: Buffer[];
    try {
      allowed = loadHostKeys(options);
    } catch (error) {
      return ctx.reject('RESOURCE_UNAVAILABLE', `resource ${resource.name}: ${(error as Error).message}`);
    }
    let hostKeyRejected = false;
    const upstream: Client = new ssh2.Client();
    let settled = false;
    const onAbort = (): void => {
      if (!settled) upstream.end();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    upstream.once('error', (error: Error & { code?: string; level?: string }) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      log.warn({ err: error.message, code: error.code, level: error.level }, 'ssh target login failed');
      ctx.reject('RESOURCE_UNAVAILABLE', describeTargetError(error, resource.name, grant.login, hostKeyRejected));
    });
    upstream.once('ready', () => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      let stream;
      try {
        stream = ctx.accept();
      } catch (error) {
        log.debug({ err: error }, 'open cancelled while logging in');
        upstream.end();
        return;
      }
      try {
        this.serve(ctx, stream, upstream, certificate);
      } catch (error) {
        log.error({ err: error }, 'starting the ssh session failed');
        upstream.end();
        stream.destroy(new Error('the agent could not start the ssh session'));
      }
    });
    upstream.connect({
      host: resource.address.host,
      port: resource.address.port,
      username: grant.login,
      authHandler: [auth],
      readyTimeout: SSH_CONNECT_TIMEOUT_MS,
      keepaliveInterval: 30_000,
      hostVerifier: (key: Buffer) => {
        hostKeyRejected = !allowed.some((k) => k.equals(key));
        return !hostKeyRejected;
      },
      ident: 'gw-agent',
    });
    void header;
  }

  private serve(ctx: ProtocolOpenContext, stream: import('node:stream').Duplex, upstream: Client, certificate: ReturnType<typeof issueSessionCertificate> | undefined): void {
    const { resource, grant, header, log } = ctx;
    const options = resource.ssh!;
    const recorder = this.o.shipper.session(grant.sid);
    recorder.record('ssh.session', {
      principal: { id: grant.principal.id, displayName: grant.principal.displayName, kind: grant.principal.kind, appId: grant.principal.appId },
      resource: resource.name,
      login: grant.login,
      mode: options.mode,
      ...(certificate ? { certificate: { keyId: certificate.keyId, serial: certificate.serial.toString(), validAfter: certificate.validAfter, validBefore: certificate.validBefore } } : {}),
      declared: { clientVersion: header.client.applicationName ?? null },
      sourceIp: header.client.address ?? null,
    });
    stream.on('error', () => undefined);
    const timers: { expiry?: NodeJS.Timeout } = {};
    const session = new SshSession({
      stream,
      hostKey: this.innerHostKey,
      upstream,
      login: grant.login,
      policy: this.o.policy,
      policyContext: {
        principal: principalFromGrant(grant.principal),
        resource: { name: resource.name, type: 'ssh', ...(resource.environment !== undefined ? { environment: resource.environment } : {}), labels: resource.labels },
        login: grant.login,
        sourceIp: header.client.address ?? '',
      },
      recorder,
      recordOutputLimitBytes: options.recordOutputLimitBytes,
      acceptEnv: options.acceptEnv,
      maskingKey: (this.maskingKey ??= loadMaskingKey(undefined, this.o.spoolDir)),
      log,
      ...(this.o.requestApproval ? { holdForApproval: holdThrough(this.o.requestApproval, grant.sid, 'command') } : {}),
      onEnd: (reason) => {
        clearTimeout(timers.expiry);
        this.sessions.delete(grant.sid);
        recorder.record('session.end', { reason });
        log.info({ reason }, 'ssh session ended');
      },
    });
    this.sessions.set(grant.sid, session);
    const remaining = grant.sessionExpiresAt * 1000 - Date.now();
    timers.expiry = setTimeout(() => session.terminate('session expired'), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
    timers.expiry.unref();
  }
}
