import {
  GrantRejectedError,
  type SessionGrantVerifier,
  type StreamHandler,
  type StreamOpenHeader,
  ChannelSocket,
  type VerifiedSessionGrant,
} from '@gw/tunnel';
import type { Logger } from 'pino';
import type { AgentResource } from '../config/agent-config.js';
import type { ProtocolHandlerRegistry } from '../handlers/protocol-handler.js';

export interface StreamCounters {
  streamsOpened: number;
  streamsRejected: number;
  openStreams: number;
  /** Bytes from the client (control plane) to the resource, and back. */
  bytesToResource: number;
  bytesFromResource: number;
}

export function emptyCounters(): StreamCounters {
  return { streamsOpened: 0, streamsRejected: 0, openStreams: 0, bytesToResource: 0, bytesFromResource: 0 };
}

export interface StreamRouterDeps {
  catalogue: ReadonlyMap<string, AgentResource>;
  handlers: ProtocolHandlerRegistry;
  /** Undefined until the hello is acknowledged: no grant can be checked before that. */
  verifier: () => SessionGrantVerifier | undefined;
  counters: StreamCounters;
  log: Logger;
}

/**
 * The agent's answer to every OPEN. Order matters: the grant is verified (signature, expiry,
 * audience, replay) before the catalogue is consulted or anything is dialed, so an unauthorized
 * opener learns nothing and reaches nothing.
 */
export function createStreamRouter(deps: StreamRouterDeps): StreamHandler {
  const { catalogue, handlers, counters, log } = deps;

  return async (header, accept, reject, context) => {
    const refuse: typeof reject = (code, reason) => {
      counters.streamsRejected += 1;
      log.warn({ streamId: context.streamId, resource: header.resource, code, reason }, 'stream refused');
      reject(code, reason);
    };

    const verifier = deps.verifier();
    if (!verifier) {
      refuse('GRANT_INVALID', 'agent has no grant key yet (hello not acknowledged)');
      return;
    }
    let grant: VerifiedSessionGrant;
    try {
      grant = await verifier.verify(header.grant);
    } catch (error) {
      if (error instanceof GrantRejectedError) refuse('GRANT_INVALID', `${error.code}: ${error.message}`);
      else refuse('INTERNAL', 'grant verification failed');
      return;
    }
    if (context.signal.aborted) return;
    if (grant.resource !== header.resource) {
      refuse('GRANT_INVALID', `grant is for resource ${grant.resource}, not ${header.resource}`);
      return;
    }
    const resource = catalogue.get(header.resource);
    if (!resource) {
      refuse('RESOURCE_UNKNOWN', `this agent serves no resource named ${header.resource}`);
      return;
    }
    if (header.protocol !== resource.type) {
      refuse('REJECTED', `resource ${resource.name} is of type ${resource.type}, not ${header.protocol}`);
      return;
    }
    const handler = handlers.get(resource.type);
    if (!handler) {
      refuse('REJECTED', `unsupported: protocol ${resource.type} is not served by this agent version yet`);
      return;
    }

    const streamLog = log.child({ sid: grant.sid, principal: grant.principal.id, resource: resource.name, streamId: context.streamId });
    handler.open({
      header,
      grant,
      resource,
      accept: () => {
        const stream = accept();
        track(stream, header, grant, counters, streamLog);
        return stream;
      },
      acceptSocket: () => {
        const socket = new ChannelSocket(context.acceptChannel());
        track(socket, header, grant, counters, streamLog);
        return socket;
      },
      reject: refuse,
      signal: context.signal,
      log: streamLog,
    });
  };
}

/** What tracking needs of an accepted stream, as a TunnelStream or a ChannelSocket. */
interface TrackedStream {
  reset(code?: number, reason?: string): void;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

function track(stream: TrackedStream, header: StreamOpenHeader, grant: VerifiedSessionGrant, counters: StreamCounters, log: Logger): void {
  counters.streamsOpened += 1;
  counters.openStreams += 1;
  const openedAt = Date.now();
  log.info({ protocol: header.protocol, login: grant.login, client: header.client }, 'session stream opened');

  // The grant bounds the session's life: end it at sessionExpiresAt whatever the client does.
  const untilExpiry = grant.sessionExpiresAt * 1000 - Date.now();
  const expiry = setTimeout(() => {
    log.info('session reached its granted end; closing');
    stream.reset(undefined, 'session grant expired');
  }, Math.max(0, Math.min(untilExpiry, 2 ** 31 - 1)));
  expiry.unref();

  let lastError: Error | undefined;
  stream.on('error', (error) => {
    lastError = error;
  });
  stream.once('close', () => {
    clearTimeout(expiry);
    counters.openStreams -= 1;
    counters.bytesToResource += stream.bytesReceived;
    counters.bytesFromResource += stream.bytesSent;
    log.info(
      {
        bytesToResource: stream.bytesReceived,
        bytesFromResource: stream.bytesSent,
        durationMs: Date.now() - openedAt,
        ...(lastError ? { error: lastError.message } : {}),
      },
      'session stream closed',
    );
  });
}
