import {
  KeyObject as NodeKeyObject,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey as NodeJwk,
} from 'node:crypto';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import { z } from 'zod';
import { ReplayCache } from './replay-cache.js';

export const SESSION_GRANT_TYP = 'gw-session-grant+jwt';
export const SESSION_GRANT_ALG = 'ES256';
/** Default and maximum lifetime of the grant itself (the window to open the stream). */
export const DEFAULT_GRANT_TTL_SECONDS = 60;
export const MAX_GRANT_TTL_SECONDS = 300;
/** A session may not be granted for longer than this, whatever the caller asks. */
export const MAX_SESSION_SECONDS = 24 * 60 * 60;
const MAX_TOKEN_LENGTH = 8192;

const claimList = z.array(z.string().max(256)).max(500);

/**
 * Who the session is for. Besides the id, the claims the agent needs to evaluate per-statement
 * policy itself (Cedar sees the same principal on both sides).
 */
const PrincipalSchema = z.strictObject({
  id: z.string().min(1).max(512),
  displayName: z.string().max(512),
  kind: z.enum(['user', 'workload', 'service']),
  issuer: z.string().max(512).optional(),
  tenantId: z.string().max(128).optional(),
  subject: z.string().max(512).optional(),
  objectId: z.string().max(128).optional(),
  appId: z.string().max(256).optional(),
  tokenId: z.string().max(256).optional(),
  roles: claimList.optional(),
  groups: claimList.optional(),
  gatewayRoles: z.array(z.enum(['admin', 'approver', 'auditor', 'requester'])).max(4).optional(),
  /** The verified process (run id, pod uid ...) as `@gw/identity` records it, for per-statement policy. */
  process: z
    .record(z.string().regex(/^[a-z_]{1,32}$/), z.string().max(512))
    .refine((record) => Object.keys(record).length <= 48, 'too many process fields')
    .optional(),
});

const GrantClaimsSchema = z.object({
  sid: z.string().min(1).max(128),
  principal: PrincipalSchema,
  resource: z.string().min(1).max(256),
  /** Database role, SSH login or equivalent the session runs as. */
  login: z.string().min(1).max(256),
  sessionExpiresAt: z.number().int().positive(),
});

export type SessionPrincipal = z.output<typeof PrincipalSchema>;

/** What the control plane decides for one session. */
export interface SessionGrantClaims {
  sid: string;
  principal: SessionPrincipal;
  resource: string;
  login: string;
  /** The agent that may accept it; becomes `aud`. */
  agentId: string;
  /** Unix seconds until which the session may live once opened. */
  sessionExpiresAt: number;
}

/** A verified grant, as the agent sees it. */
export interface VerifiedSessionGrant extends SessionGrantClaims {
  jti: string;
  issuer: string | undefined;
  /** Unix seconds: the grant itself (not the session) expires then. */
  expiresAt: number;
  issuedAt: number;
}

export interface SignSessionGrantOptions {
  /** Lifetime of the grant in seconds (default 60, at most 300). */
  ttlSeconds?: number;
  issuer?: string;
  keyId?: string;
  /** Unix seconds, for tests. */
  now?: number;
}

export type GrantRejectedCode =
  | 'MALFORMED'
  | 'BAD_ALGORITHM'
  | 'BAD_TYPE'
  | 'BAD_SIGNATURE'
  | 'WRONG_AUDIENCE'
  | 'WRONG_ISSUER'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'BAD_CLAIMS'
  | 'TTL_TOO_LONG'
  | 'SESSION_EXPIRED'
  | 'REPLAYED'
  | 'REPLAY_CACHE_FULL';

export class GrantRejectedError extends Error {
  override readonly name = 'GrantRejectedError';
  constructor(
    readonly code: GrantRejectedCode,
    message: string,
  ) {
    super(`session grant rejected (${code}): ${message}`);
  }
}

/**
 * The control plane's signing key as a Node KeyObject, checked to be an EC P-256 private key.
 * Signing goes through `node:crypto` synchronously: jose signs through WebCrypto, whose jobs run on
 * libuv's thread pool and come back through the event loop, and under load (bench/scale, three
 * replicas opening sessions) that wait made the signature the slowest part of a session open
 * (p50 95 ms, for about 30 µs of work).
 */
export function grantSigningKey(privateKey: CryptoKey | KeyObject | JWK): NodeKeyObject {
  const key =
    privateKey instanceof NodeKeyObject
      ? privateKey
      : isJwk(privateKey)
        ? createPrivateKey({ key: privateKey as NodeJwk, format: 'jwk' })
        : NodeKeyObject.from(privateKey as CryptoKey);
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new RangeError('session grants are signed with an EC P-256 private key');
  }
  return key;
}

function isJwk(key: unknown): key is JWK {
  return typeof key === 'object' && key !== null && typeof (key as JWK).kty === 'string' && !(key instanceof NodeKeyObject);
}

/**
 * Control plane: sign a short-lived grant for one session (a compact JWS, ES256). The work is
 * synchronous; a promise is kept so that a refusal (RangeError) reaches the caller as a rejection.
 */
export function signSessionGrant(
  privateKey: CryptoKey | KeyObject | JWK | NodeKeyObject,
  claims: SessionGrantClaims,
  options: SignSessionGrantOptions = {},
): Promise<string> {
  return new Promise((resolve) => resolve(signNow(privateKey, claims, options)));
}

function signNow(privateKey: CryptoKey | KeyObject | JWK | NodeKeyObject, claims: SessionGrantClaims, options: SignSessionGrantOptions): string {
  const ttl = options.ttlSeconds ?? DEFAULT_GRANT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_GRANT_TTL_SECONDS) {
    throw new RangeError(`grant ttlSeconds must be an integer in [1, ${MAX_GRANT_TTL_SECONDS}]`);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const body = GrantClaimsSchema.parse({
    sid: claims.sid,
    principal: claims.principal,
    resource: claims.resource,
    login: claims.login,
    sessionExpiresAt: claims.sessionExpiresAt,
  });
  if (claims.agentId.length === 0) throw new RangeError('grant agentId must not be empty');
  if (body.sessionExpiresAt <= now || body.sessionExpiresAt > now + MAX_SESSION_SECONDS) {
    throw new RangeError(`sessionExpiresAt must be in the future and at most ${MAX_SESSION_SECONDS} s ahead`);
  }
  const key = grantSigningKey(privateKey);
  const header = { alg: SESSION_GRANT_ALG, typ: SESSION_GRANT_TYP, ...(options.keyId ? { kid: options.keyId } : {}) };
  const payload = {
    ...body,
    aud: claims.agentId,
    iat: now,
    exp: now + ttl,
    jti: randomUUID(),
    ...(options.issuer ? { iss: options.issuer } : {}),
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  // ES256 in JWS is the raw r || s pair (RFC 7518 3.4), which is what ieee-p1363 produces.
  const signature = cryptoSign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

const base64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

export interface SessionGrantVerifierOptions {
  /** The control plane's public key (EC P-256). A JWK holding a private part is refused. */
  publicKey: JWK;
  /** This agent's id: grants for another audience are refused. */
  agentId: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  clockToleranceSeconds?: number;
  /** Session ids remembered at once (default 100 000). */
  replayCacheSize?: number;
  /** Unix milliseconds, for tests. */
  now?: () => number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** An ES256 signature: r and s, 32 bytes each. */
const ES256_SIGNATURE_BYTES = 64;

/** A base64url JSON object, or undefined for anything else (bad encoding, bad JSON, an array, a string). */
function jsonObjectOf(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `typ` compared as RFC 7515 4.1.9 says: case-insensitive, `application/` optional. */
const normalisedTyp = (typ: unknown): string | undefined =>
  typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;

/** Agent side: verifies grants from the control plane and refuses a session id seen before. */
export class SessionGrantVerifier {
  /** The imported public key, or why it could not be imported (reported by every verify). */
  private readonly key: NodeKeyObject | Error;
  private readonly replay: ReplayCache;
  private readonly now: () => number;
  private readonly tolerance: number;

  constructor(private readonly options: SessionGrantVerifierOptions) {
    const jwk = options.publicKey;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) {
      throw new RangeError('SessionGrantVerifier needs the public EC P-256 JWK of the control plane');
    }
    if (options.agentId.length === 0) throw new RangeError('agentId must not be empty');
    try {
      this.key = createPublicKey({ key: jwk as NodeJwk, format: 'jwk' });
    } catch (error) {
      this.key = error instanceof Error ? error : new Error(String(error));
    }
    this.replay = new ReplayCache(options.replayCacheSize ?? 100_000);
    this.now = options.now ?? Date.now;
    this.tolerance = options.clockToleranceSeconds ?? 5;
  }

  /**
   * Checks the compact JWS and its claims synchronously with `node:crypto` (see grantSigningKey for
   * why not jose's WebCrypto path: an agent verifies one grant per session open, on its event loop).
   * Order: shape, header (alg before any key use, so `none` or HS256 keyed with the public key never
   * reach verification), signature, then claims.
   */
  verify(token: string): Promise<VerifiedSessionGrant> {
    return new Promise((resolve) => resolve(this.verifyNow(token)));
  }

  private verifyNow(token: string): VerifiedSessionGrant {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new GrantRejectedError('MALFORMED', `grant must be a JWT of at most ${MAX_TOKEN_LENGTH} characters`);
    }
    const [headerPart, payloadPart, signaturePart] = token.split('.');
    const header = headerPart ? jsonObjectOf(headerPart) : undefined;
    if (!header) throw new GrantRejectedError('MALFORMED', 'grant header is not decodable');
    if (header.alg !== SESSION_GRANT_ALG) throw new GrantRejectedError('BAD_ALGORITHM', `alg ${String(header.alg)} is not ${SESSION_GRANT_ALG}`);
    if (!COMPACT_JWS.test(token) || payloadPart === undefined || signaturePart === undefined) {
      throw new GrantRejectedError('MALFORMED', 'grant is not a compact JWS (three base64url parts)');
    }
    // No JWS extension is understood here, so none may be marked critical (RFC 7515 4.1.11).
    if ('crit' in header) throw new GrantRejectedError('MALFORMED', 'grant header names critical extensions');
    if (this.key instanceof Error) throw new GrantRejectedError('MALFORMED', `the control plane key is unusable: ${this.key.message}`);
    const signature = Buffer.from(signaturePart, 'base64url');
    const signed =
      signature.length === ES256_SIGNATURE_BYTES &&
      cryptoVerify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key: this.key, dsaEncoding: 'ieee-p1363' }, signature);
    if (!signed) throw new GrantRejectedError('BAD_SIGNATURE', 'signature does not match the control plane key');
    if (normalisedTyp(header.typ) !== SESSION_GRANT_TYP) throw new GrantRejectedError('BAD_TYPE', `typ must be ${SESSION_GRANT_TYP}`);
    const payload = jsonObjectOf(payloadPart);
    if (!payload) throw new GrantRejectedError('MALFORMED', 'grant claims are not a JSON object');

    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    const { exp, iat, nbf, jti, aud, iss } = payload;
    if (typeof exp !== 'number' || typeof iat !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) {
      throw new GrantRejectedError('BAD_CLAIMS', 'exp and iat (and nbf, when present) must be numbers');
    }
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new GrantRejectedError('BAD_CLAIMS', 'exp, iat and jti are required');
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(this.options.agentId)) throw new GrantRejectedError('WRONG_AUDIENCE', 'grant is for another agent');
    if (this.options.issuer !== undefined && iss !== this.options.issuer) throw new GrantRejectedError('WRONG_ISSUER', 'grant has an unexpected issuer');
    if (exp <= nowSec - this.tolerance) throw new GrantRejectedError('EXPIRED', 'grant has expired');
    if (nbf !== undefined && nbf > nowSec + this.tolerance) throw new GrantRejectedError('NOT_YET_VALID', 'grant nbf is in the future');
    if (iat > nowSec + this.tolerance) throw new GrantRejectedError('NOT_YET_VALID', 'grant iat is in the future');

    const claims = GrantClaimsSchema.safeParse(payload);
    if (!claims.success) throw new GrantRejectedError('BAD_CLAIMS', 'grant claims are missing or malformed');
    // A validly signed but long-lived grant is still refused: the replay cache only covers short ones.
    if (exp - iat > MAX_GRANT_TTL_SECONDS) {
      throw new GrantRejectedError('TTL_TOO_LONG', `grant lives ${exp - iat} s, more than ${MAX_GRANT_TTL_SECONDS}`);
    }
    if (claims.data.sessionExpiresAt <= nowSec) throw new GrantRejectedError('SESSION_EXPIRED', 'the session end has passed');

    const verdict = this.replay.remember(claims.data.sid, (exp + this.tolerance) * 1000, nowMs);
    if (verdict === 'replayed') throw new GrantRejectedError('REPLAYED', `session ${claims.data.sid} was already opened`);
    if (verdict === 'full') throw new GrantRejectedError('REPLAY_CACHE_FULL', 'too many recent sessions; try again shortly');

    return {
      ...claims.data,
      agentId: this.options.agentId,
      jti,
      issuer: typeof iss === 'string' ? iss : undefined,
      expiresAt: exp,
      issuedAt: iat,
    };
  }
}
