import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './errors.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

export interface ScramClientOptions {
  readonly password: string;
  /**
   * PostgreSQL ignores the SCRAM user name and uses the one from the StartupMessage, so libpq sends
   * an empty one; kept configurable for other servers.
   */
  readonly username?: string;
  /** Client nonce; random (18 bytes, base64) unless given. Only tests should set it. */
  readonly nonce?: string;
  /** Refuse servers asking for fewer PBKDF2 rounds (RFC 7677 asks for at least 4096). */
  readonly minIterations?: number;
  /** Refuse servers asking for more rounds, so a hostile server cannot pin the CPU. */
  readonly maxIterations?: number;
}

type State = 'initial' | 'awaiting-server-first' | 'awaiting-server-final' | 'done' | 'failed';

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * SCRAM-SHA-256 client (RFC 5802 / RFC 7677) as a pure state machine, without channel binding
 * (gs2 header "n,,"). It produces the SASL payloads; wrapping them in SASLInitialResponse /
 * SASLResponse and reading AuthenticationSASLContinue / Final is the caller's job. Any failure is a
 * ProtocolError('auth_failed') and leaves the client unusable.
 */
export class ScramSha256Client {
  readonly mechanism = SCRAM_SHA_256;
  private state: State = 'initial';
  private readonly password: string;
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private readonly minIterations: number;
  private readonly maxIterations: number;
  private expectedServerSignature: Buffer | undefined;

  constructor(options: ScramClientOptions) {
    this.password = options.password;
    this.clientNonce = options.nonce ?? randomBytes(18).toString('base64');
    if (!PRINTABLE_NONCE.test(this.clientNonce)) throw new ProtocolError('invalid_value', 'SCRAM nonce must be printable without commas');
    this.clientFirstBare = `n=${escapeUsername(options.username ?? '')},r=${this.clientNonce}`;
    this.minIterations = options.minIterations ?? 4096;
    this.maxIterations = options.maxIterations ?? 1_000_000;
  }

  /** client-first-message, the payload of SASLInitialResponse. */
  clientFirstMessage(): string {
    this.expect('initial');
    this.state = 'awaiting-server-first';
    return `n,,${this.clientFirstBare}`;
  }

  /** Takes the AuthenticationSASLContinue payload and returns client-final-message (with the proof). */
  handleServerFirst(serverFirst: string | Buffer): string {
    this.expect('awaiting-server-first');
    return this.failClosed(() => {
      const message = typeof serverFirst === 'string' ? serverFirst : serverFirst.toString('utf8');
      const attrs = parseAttributes(message, ['r', 's', 'i']);
      const nonce = attrs.get('r')!;
      if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !PRINTABLE_NONCE.test(nonce)) {
        throw fail('server nonce does not extend the client nonce');
      }
      const saltText = attrs.get('s')!;
      if (saltText === '' || !BASE64.test(saltText)) throw fail('salt is not base64');
      const iterationsText = attrs.get('i')!;
      if (!/^[1-9][0-9]{0,9}$/.test(iterationsText)) throw fail('iteration count is not a positive integer');
      const iterations = Number(iterationsText);
      if (iterations < this.minIterations || iterations > this.maxIterations) {
        throw fail(`iteration count ${iterations} outside ${this.minIterations}..${this.maxIterations}`);
      }

      const salted = pbkdf2Sync(saslPrep(this.password), Buffer.from(saltText, 'base64'), iterations, 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      // "biws" is base64("n,,"): no channel binding, no authzid.
      const clientFinalWithoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${this.clientFirstBare},${message},${clientFinalWithoutProof}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
      this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      this.state = 'awaiting-server-final';
      return `${clientFinalWithoutProof},p=${proof.toString('base64')}`;
    });
  }

  /**
   * Takes the AuthenticationSASLFinal payload and checks the server signature, proving that the
   * server knows the password verifier too. Must succeed before trusting AuthenticationOk.
   */
  verifyServerFinal(serverFinal: string | Buffer): void {
    this.expect('awaiting-server-final');
    this.failClosed(() => {
      const message = typeof serverFinal === 'string' ? serverFinal : serverFinal.toString('utf8');
      if (message.startsWith('e=')) throw fail(`server reported ${message.slice(2)}`);
      const attrs = parseAttributes(message, ['v']);
      const signatureText = attrs.get('v')!;
      if (!BASE64.test(signatureText)) throw fail('server signature is not base64');
      const signature = Buffer.from(signatureText, 'base64');
      const expected = this.expectedServerSignature!;
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
        throw fail('server signature mismatch');
      }
      this.state = 'done';
    });
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  private expect(state: State): void {
    if (this.state !== state) throw fail(`called in state ${this.state}, expected ${state}`);
  }

  private failClosed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }
}

function fail(reason: string): ProtocolError {
  return new ProtocolError('auth_failed', `SCRAM: ${reason}`);
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 5802 saslname: ',' and '=' are escaped. */
function escapeUsername(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/**
 * Reads "a=...,b=..." and requires the given attributes, in that order, first. A leading "m="
 * (mandatory extension) must make the client fail (RFC 5802 §5.1); later unknown extensions are ignored.
 */
function parseAttributes(message: string, required: readonly string[]): Map<string, string> {
  if (message.length > 4096) throw fail('server message too long');
  const parts = message.split(',');
  const attrs = new Map<string, string>();
  required.forEach((name, i) => {
    const part = parts[i];
    if (part === undefined || !part.startsWith(`${name}=`)) throw fail(`expected attribute ${name} at position ${i + 1}`);
    attrs.set(name, part.slice(2));
  });
  return attrs;
}

// Characters SASLprep (RFC 4013) maps to a space or to nothing.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
const MAPPED_TO_NOTHING: ReadonlySet<number> = new Set([
  0xad, 0x34f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff,
  ...Array.from({ length: 16 }, (_, i) => 0xfe00 + i),
]);
// Prohibited output (controls, private use, surrogates, non-characters, tagging characters).
// eslint-disable-next-line no-control-regex
const PROHIBITED = /[\u0000-\u001F\u007F-\u009F\uE000-\uF8FF\uFFF9-\uFFFF\u2028\u2029\u200E\u200F\u202A-\u202E\u206A-\u206F]/;

/**
 * SASLprep as PostgreSQL applies it: map, NFKC-normalise and, when the result contains prohibited
 * characters, use the password unchanged (PostgreSQL does the same when it stores the verifier, so
 * both sides agree). The bidirectional-text rule is not checked; ASCII passwords are unaffected.
 */
function saslPrep(password: string): string {
  if (/^[\x20-\x7e]*$/.test(password)) return password;
  const mapped = Array.from(password.replace(NON_ASCII_SPACE, ' '))
    .filter((ch) => !MAPPED_TO_NOTHING.has(ch.codePointAt(0)!))
    .join('');
  const prepared = mapped.normalize('NFKC');
  return PROHIBITED.test(prepared) ? password : prepared;
}
