import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { toPrincipal, type CompiledRoleRule } from './claims.js';
import { evaluateClaimRule, parseClaimRule, type ClaimRule } from './claim-rules.js';
import { extractProcess, REQUIRED_CLAIMS, type ProcessRecord } from './process.js';
import { parseJsonConfig } from './config-error.js';
import { TokenRejectedError } from './errors.js';
import { issuersConfigSchema, type IssuerConfig, type IssuerConfigInput } from './issuer-config.js';
import { IssuerMatcher } from './issuer-matcher.js';
import { DEFAULT_KEY_RESOLVER_OPTIONS, IssuerKeyResolver, type KeyResolverOptions } from './key-resolver.js';
import type { Principal } from './principal.js';
import { roleMappingsSchema, type RoleMappings } from './role-mapping.js';
import { MAX_TOKEN_LENGTH } from './unverified.js';

/** Asymmetric algorithms Entra and the dev IdP use. HS* is never accepted: a shared secret cannot prove an issuer. */
export const ALLOWED_ALGORITHMS = ['RS256', 'PS256', 'ES256'] as const;
export const MAX_CLOCK_SKEW_SECONDS = 60;

export interface TokenVerifierOptions extends Partial<KeyResolverOptions> {
  /** Allowed clock skew for exp/nbf/iat, in seconds; capped at 60. */
  clockSkewSeconds?: number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * A token's signature and claims are checked once and the answer is kept for this long (and never
 * past the token's `exp`): a workload opening many sessions presents the same token each time, and a
 * full check costs about 460 µs of CPU (ES256 through WebCrypto) against about 20 µs for a kept one.
 * The price: a key the issuer withdraws stops working for tokens already seen up to this much later.
 */
const VERIFIED_REUSE_MS = 60_000;
/** Tokens remembered at once; the oldest is dropped first. */
const VERIFIED_MAX = 10_000;

type VerifiedToken = { payload: JWTPayload; match: NonNullable<ReturnType<IssuerMatcher['match']>> };

/**
 * Verifies bearer tokens of the trusted issuers and maps them to a Principal. Every refusal is a
 * TokenRejectedError; nothing else escapes `verify` for a bad token or an unreachable IdP.
 */
export class TokenVerifier {
  private readonly matcher: IssuerMatcher;
  private readonly resolvers = new Map<IssuerConfig, IssuerKeyResolver>();
  private readonly roleRules = new Map<IssuerConfig, CompiledRoleRule[]>();
  private readonly attestationRules = new Map<IssuerConfig, ClaimRule[]>();
  private readonly clockSkew: number;
  /** Exact token text -> what its verification found, until `until` (ms). */
  private readonly verified = new Map<string, VerifiedToken & { until: number }>();

  private constructor(
    issuers: readonly IssuerConfig[],
    private readonly roleMappings: RoleMappings,
    options: TokenVerifierOptions,
  ) {
    this.matcher = new IssuerMatcher(issuers);
    const { clockSkewSeconds, ...resolverOverrides } = options;
    const resolverOptions: KeyResolverOptions = { ...DEFAULT_KEY_RESOLVER_OPTIONS, ...resolverOverrides };
    this.clockSkew = Math.min(Math.max(clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS, 0), MAX_CLOCK_SKEW_SECONDS);
    for (const issuer of issuers) {
      this.resolvers.set(issuer, new IssuerKeyResolver(issuer, resolverOptions));
      this.roleRules.set(issuer, (issuer.roleRules ?? []).map(({ when, roles }) => ({ rule: parseClaimRule(when), roles })));
      if (issuer.attestationFor) this.attestationRules.set(issuer, issuer.attestationFor.map(({ when }) => parseClaimRule(when)));
    }
  }

  /**
   * Issuers and mappings are validated again here so a hand-built object cannot bypass the schema rules
   * (e.g. a template without a tenant allow-list); a bad value throws IdentityConfigError.
   */
  static fromConfig(issuers: readonly IssuerConfigInput[], roleMappings: RoleMappings, opts: TokenVerifierOptions = {}): TokenVerifier {
    return new TokenVerifier(
      parseJsonConfig(issuersConfigSchema, issuers, 'issuer configuration'),
      parseJsonConfig(roleMappingsSchema, roleMappings, 'role mappings'),
      opts,
    );
  }

  async verify(token: string): Promise<Principal> {
    const { payload, match } = await this.verifySignedToken(token);
    return toPrincipal(payload, match, this.roleMappings, this.roleRules.get(match.config));
  }

  /**
   * Verifies a platform token presented beside the bearer token as a process attestation, against
   * its own issuer, and returns the presenter with its `process` taken from it. Refused unless the
   * issuer is configured with `attestationFor` and one of its rules holds for this presenter and
   * this token; refused when the presenter's own token already proves a platform process.
   */
  async attest(presenter: Principal, attestation: string): Promise<Principal> {
    const { payload, match } = await this.verifySignedToken(attestation);
    const rules = this.attestationRules.get(match.config);
    if (rules === undefined) throw new TokenRejectedError('attestation_refused', 'the attestation issuer is not configured to attest processes (attestationFor)');
    const own = presenter.process;
    if (own !== undefined && own.platform !== 'entra' && own.platform !== 'generic') {
      throw new TokenRejectedError('attestation_refused', 'the bearer token already proves its process; no attestation is taken beside it');
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new TokenRejectedError('claim_missing', 'claim "sub" is missing in the attestation');
    if (match.concreteIssuer === presenter.issuer && payload.sub === presenter.subject) {
      throw new TokenRejectedError('attestation_refused', 'the attestation is a token of the same principal, not of its process');
    }
    const attested = extractProcess(match.config.kind, payload, match.concreteIssuer, payload.sub, match.config.processClaims);
    if (attested === undefined) throw new TokenRejectedError('attestation_refused', 'the attestation names no process');
    const subject = { claims: payload, process: attested, principal: presenterFacts(presenter) };
    if (!rules.some((rule) => evaluateClaimRule(rule, subject))) {
      throw new TokenRejectedError('attestation_refused', 'the attestation is not accepted for this principal (no attestationFor rule holds)');
    }
    const process: ProcessRecord = { ...(own ?? {}), ...attested, source: 'attestation' };
    return { ...presenter, process };
  }

  private async verifySignedToken(token: string): Promise<VerifiedToken> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      // A copy: callers build principals from the payload, and one must never see another's changes.
      if (Date.now() < known.until) return { payload: structuredClone(known.payload), match: known.match };
      this.verified.delete(token);
    }
    const result = await this.verifyUncached(token);
    // Kept only while unexpired by the token's own clock (no skew allowance): past exp, it is checked in full again.
    const until = Math.min(Date.now() + VERIFIED_REUSE_MS, (result.payload.exp as number) * 1000);
    if (until > Date.now()) {
      if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { payload: structuredClone(result.payload), match: result.match, until });
    }
    return result;
  }

  private async verifyUncached(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new TokenRejectedError('malformed', 'the bearer token is not a compact JWS');
    }
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      unverified = decodeJwt(token);
    } catch (cause) {
      throw new TokenRejectedError('malformed', 'the token header or payload cannot be decoded', { cause });
    }
    // Refused before any key lookup, so "none" and HMAC-with-public-key tricks never reach a verifier.
    if (typeof alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TokenRejectedError('algorithm_not_allowed', `signing algorithm must be one of ${ALLOWED_ALGORITHMS.join(', ')}`);
    }
    if (typeof unverified.iss !== 'string') throw new TokenRejectedError('claim_missing', 'claim "iss" is missing');
    const match = this.matcher.match(unverified.iss);
    if (match === undefined) throw new TokenRejectedError('issuer_untrusted', 'the token issuer is not trusted');
    const resolver = this.resolvers.get(match.config);
    if (resolver === undefined) throw new TokenRejectedError('issuer_untrusted', 'the token issuer is not trusted');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, resolver.getKey, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: match.concreteIssuer,
        audience: match.config.audience,
        clockTolerance: this.clockSkew,
        requiredClaims: ['exp', 'iat', ...REQUIRED_CLAIMS[match.config.kind], ...(match.config.requiredClaims ?? [])],
      }));
    } catch (error) {
      throw toRejection(error);
    }
    // jose only checks iat against the clock when maxTokenAge is set; a token from the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + this.clockSkew) {
      throw new TokenRejectedError('issued_in_future', 'the token is issued in the future (beyond the allowed clock skew)');
    }
    return { payload, match };
  }
}

/** What an attestation rule may read about the presenter (`principal.appId` ...). */
function presenterFacts(p: Principal): Record<string, unknown> {
  return { id: p.id, kind: p.kind, issuer: p.issuer, subject: p.subject, tenantId: p.tenantId, objectId: p.objectId, appId: p.appId, roles: p.roles, groups: p.groups };
}

/** Maps jose's error classes onto our codes; unknown failures are refusals too (fail closed). */
function toRejection(error: unknown): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRejectedError('expired', 'the token has expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return new TokenRejectedError('claim_missing', `claim "${error.claim}" is missing`, { cause: error });
    // A time claim that is not a number is a malformed token, not an early or expired one.
    if (error.reason === 'invalid') return new TokenRejectedError('malformed', `claim "${error.claim}" must be a number`, { cause: error });
    switch (error.claim) {
      case 'nbf':
        return new TokenRejectedError('not_yet_valid', 'the token is not valid yet (nbf)', { cause: error });
      case 'aud':
        return new TokenRejectedError('audience_mismatch', 'the token audience is not accepted', { cause: error });
      case 'iss':
        return new TokenRejectedError('issuer_untrusted', 'the token issuer is not trusted', { cause: error });
      default:
        return new TokenRejectedError('malformed', `claim "${error.claim}" is invalid`, { cause: error });
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenRejectedError('signature_invalid', 'the token signature is invalid', { cause: error });
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenRejectedError('algorithm_not_allowed', 'the signing algorithm is not allowed', { cause: error });
  if (error instanceof errors.JWKSNoMatchingKey) return new TokenRejectedError('key_not_found', 'no signing key of the issuer matches the token', { cause: error });
  if (error instanceof errors.JWKSMultipleMatchingKeys) return new TokenRejectedError('key_not_found', 'the token does not name one signing key (kid)', { cause: error });
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new TokenRejectedError('malformed', 'the token is not a valid JWT', { cause: error });
  // `crit` naming an extension jose does not implement (RFC 7515 4.1.11 says: refuse the token).
  if (error instanceof errors.JOSENotSupported) return new TokenRejectedError('malformed', 'the token header names a critical extension (crit) the gateway does not support', { cause: error });
  // Anything else (unsupported key type, crypto failure) is still a refusal, never a crash.
  return new TokenRejectedError('signature_invalid', 'the token could not be verified', { cause: error });
}
