import { connect, type Socket } from 'node:net';
import {
  BackendParser,
  SCRAM_SHA_256,
  ScramSha256Client,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  startupMessage,
  type BackendMessage,
  type Parsed,
} from '@gw/protocol-postgres';
import { negotiateTls, type UpstreamTls } from './upstream-tls.js';

export const UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;

/** Opening the upstream session failed; `code` is the SQLSTATE to show the client (class 08 or 28). */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamLogin {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  /** Other startup parameters (already filtered). */
  params: ReadonlyMap<string, string>;
  tls: UpstreamTls;
  timeoutMs?: number;
}

export interface UpstreamSession {
  socket: Socket;
  parser: BackendParser;
  /** ParameterStatus..., BackendKeyData, ReadyForQuery as the server sent them, to relay to the client. */
  startupReplies: Buffer[];
  key: { processId: number; secretKey: Buffer } | undefined;
}

/**
 * Connects (TLS as the resource's `tls` says) and authenticates as `login.user` (trust, cleartext or
 * SCRAM-SHA-256; MD5 is refused), resolving once the server is ready for the first query.
 */
export function openUpstream(login: UpstreamLogin): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const raw = connect({ host: login.host, port: login.port, noDelay: true });
    let socket: Socket = raw;
    const parser = new BackendParser();
    const replies: Buffer[] = [];
    let key: UpstreamSession['key'];
    let scram: ScramSha256Client | undefined;
    let done = false;
    const fail = (error: UpstreamError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new UpstreamError('08001', `the database did not complete the login within ${(login.timeoutMs ?? UPSTREAM_CONNECT_TIMEOUT_MS) / 1000} s`)),
      login.timeoutMs ?? UPSTREAM_CONNECT_TIMEOUT_MS,
    );
    const watch = (s: Socket): void => {
      s.once('error', (error: NodeJS.ErrnoException) => fail(new UpstreamError('08001', `cannot reach the database: ${error.code ?? error.message}`)));
      s.once('close', () => fail(new UpstreamError('08006', 'the database closed the connection during login')));
    };
    watch(raw);
    raw.once('connect', () => {
      negotiateTls(raw, login.tls).then(
        (ready) => {
          if (done) return void ready.destroy();
          if (ready !== raw) {
            socket = ready;
            watch(ready);
          }
          ready.on('data', onData);
          const params = new Map<string, string>([['user', login.user], ['database', login.database], ...login.params]);
          ready.write(startupMessage(params));
        },
        (error: unknown) => fail(new UpstreamError('08001', (error as Error).message)),
      );
    });
    const needPassword = (): string => {
      if (login.password === undefined) throw new UpstreamError('28000', `the database asks a password for ${login.user}, and none is configured`);
      return login.password;
    };
    const onMessage = (msg: Parsed<BackendMessage>): void => {
       
      switch (msg.kind) {
        case 'AuthenticationOk':
          return;
        case 'AuthenticationCleartextPassword':
          socket.write(passwordMessage(needPassword()));
          return;
        case 'AuthenticationMD5Password':
          throw new UpstreamError('28000', 'the database asks for MD5 password authentication, which the gateway refuses (configure scram-sha-256)');
        case 'AuthenticationSASL':
          if (!msg.mechanisms.includes(SCRAM_SHA_256)) {
            throw new UpstreamError('28000', `the database offers no SASL mechanism the gateway supports (${msg.mechanisms.join(', ')})`);
          }
          scram = new ScramSha256Client({ password: needPassword() });
          socket.write(saslInitialResponse(SCRAM_SHA_256, Buffer.from(scram.clientFirstMessage())));
          return;
        case 'AuthenticationSASLContinue':
          if (!scram) throw new UpstreamError('08P01', 'the database sent SASL data out of order');
          socket.write(saslResponse(Buffer.from(scram.handleServerFirst(msg.data))));
          return;
        case 'AuthenticationSASLFinal':
          if (!scram) throw new UpstreamError('08P01', 'the database sent SASL data out of order');
          scram.verifyServerFinal(msg.data);
          return;
        case 'ParameterStatus':
        case 'NoticeResponse':
          replies.push(msg.raw);
          return;
        case 'BackendKeyData':
          key = { processId: msg.processId, secretKey: Buffer.from(msg.secretKey) };
          replies.push(msg.raw);
          return;
        case 'ReadyForQuery':
          replies.push(msg.raw);
          done = true;
          clearTimeout(timer);
          for (const s of new Set([raw, socket])) {
            s.removeAllListeners('error');
            s.removeAllListeners('close');
          }
          socket.removeListener('data', onData);
          socket.pause();
          resolve({ socket, parser, startupReplies: replies, key });
          return;
        case 'ErrorResponse': {
          const code = msg.fields.code ?? '08006';
          throw new UpstreamError(/^(08|28|3D|53|57)/.test(code) ? code : '08006', `the database refused the login: ${msg.fields.message ?? 'no message'}`);
        }
        default:
          throw new UpstreamError('08P01', `unexpected ${msg.kind} from the database during login`);
      }
    };
    const onData = (chunk: Buffer): void => {
      try {
        for (const msg of parser.parse(chunk)) {
          onMessage(msg);
          if (done) return;
        }
      } catch (error) {
        fail(error instanceof UpstreamError ? error : new UpstreamError('08P01', `login to the database failed: ${(error as Error).message}`));
      }
    };
  });
}
