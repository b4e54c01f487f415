import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  type JWK,
  type KeyObject,
  SignJWT,
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
} from 'jose';
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

/** Control plane: sign a short-lived grant for one session. */
export async function signSessionGrant(
  privateKey: CryptoKey | KeyObject | JWK,
  claims: SessionGrantClaims,
  options: SignSessionGrantOptions = {},
): Promise<string> {
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
  const jwt = new SignJWT(body)
    .setProtectedHeader({ alg: SESSION_GRANT_ALG, typ: SESSION_GRANT_TYP, ...(options.keyId ? { kid: options.keyId } : {}) })
    .setAudience(claims.agentId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID());
  if (options.issuer) jwt.setIssuer(options.issuer);
  return jwt.sign(privateKey);
}

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

function rejectionFromJose(error: unknown): GrantRejectedError {
  if (error instanceof GrantRejectedError) return error;
  if (error instanceof joseErrors.JWTExpired) return new GrantRejectedError('EXPIRED', 'grant has expired');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new GrantRejectedError('BAD_SIGNATURE', 'signature does not match the control plane key');
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new GrantRejectedError('BAD_ALGORITHM', 'algorithm not allowed');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new GrantRejectedError('WRONG_AUDIENCE', 'grant is for another agent');
      case 'iss':
        return new GrantRejectedError('WRONG_ISSUER', 'grant has an unexpected issuer');
      case 'typ':
        return new GrantRejectedError('BAD_TYPE', `typ must be ${SESSION_GRANT_TYP}`);
      case 'nbf':
      case 'iat':
        return new GrantRejectedError('NOT_YET_VALID', `grant ${error.claim} is in the future`);
      default:
        return new GrantRejectedError('BAD_CLAIMS', `claim ${error.claim} failed: ${error.reason}`);
    }
  }
  return new GrantRejectedError('MALFORMED', 'grant is not a valid JWS/JWT');
}

/** Agent side: verifies grants from the control plane and refuses a session id seen before. */
export class SessionGrantVerifier {
  private readonly key: Promise<CryptoKey | Uint8Array>;
  private readonly replay: ReplayCache;
  private readonly now: () => number;
  private readonly tolerance: number;

  constructor(private readonly options: SessionGrantVerifierOptions) {
    const jwk = options.publicKey;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) {
      throw new RangeError('SessionGrantVerifier needs the public EC P-256 JWK of the control plane');
    }
    if (options.agentId.length === 0) throw new RangeError('agentId must not be empty');
    this.key = importJWK(jwk, SESSION_GRANT_ALG);
    // Keep the import failure observable through verify(), not as an unhandled rejection.
    this.key.catch(() => undefined);
    this.replay = new ReplayCache(options.replayCacheSize ?? 100_000);
    this.now = options.now ?? Date.now;
    this.tolerance = options.clockToleranceSeconds ?? 5;
  }

  async verify(token: string): Promise<VerifiedSessionGrant> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new GrantRejectedError('MALFORMED', `grant must be a JWT of at most ${MAX_TOKEN_LENGTH} characters`);
    }
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new GrantRejectedError('MALFORMED', 'grant header is not decodable');
    }
    // Checked before any key use, so 'none' or HS256-with-the-public-key never reaches verification.
    if (alg !== SESSION_GRANT_ALG) throw new GrantRejectedError('BAD_ALGORITHM', `alg ${String(alg)} is not ${SESSION_GRANT_ALG}`);

    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: [SESSION_GRANT_ALG],
        typ: SESSION_GRANT_TYP,
        audience: this.options.agentId,
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        clockTolerance: this.tolerance,
        currentDate: new Date(nowMs),
        requiredClaims: ['exp', 'iat', 'jti', 'aud'],
      }));
    } catch (error) {
      throw rejectionFromJose(error);
    }

    const claims = GrantClaimsSchema.safeParse(payload);
    if (!claims.success) throw new GrantRejectedError('BAD_CLAIMS', 'grant claims are missing or malformed');
    const exp = payload.exp;
    const iat = payload.iat;
    const jti = payload.jti;
    if (exp === undefined || iat === undefined || typeof jti !== 'string' || jti.length === 0 || jti.length > 128) {
      throw new GrantRejectedError('BAD_CLAIMS', 'exp, iat and jti are required');
    }
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
      issuer: payload.iss,
      expiresAt: exp,
      issuedAt: iat,
    };
  }
}
