import { createHash } from 'node:crypto';
import { cedar, ensureSchemaPreparsed, PREPARSED_SCHEMA_NAME } from './cedar.js';
import { buildCedarRequest, type CedarRequest } from './cedar-request.js';
import { combine, denyDecision, type PolicyDecision } from './decision.js';
import { PolicyValidationError } from './errors.js';
import { describeInputProblem, type PolicyInput } from './input.js';
import { LruCache } from './lru.js';
import type { PolicyInfo, PolicySetError } from './policy-info.js';
import { analysePolicySet } from './validate.js';

export interface PolicyEngineOptions {
  /** Decisions kept per engine (LRU). 0 disables the cache. Default 10,000. */
  cacheSize?: number;
  /** Source of the current time for `context.hour` when the input does not give one. */
  clock?: () => Date;
}

export interface PolicyExplanation {
  decision: PolicyDecision;
  /** Hash of the policy text that produced the decision. */
  engineHash: string;
  /** The determining policies with their parsed obligations. */
  determining: PolicyInfo[];
  /** Exactly what was sent to Cedar (entities, action, context), for the dry-run view. */
  request?: CedarRequest;
}

export interface CacheStats {
  size: number;
  capacity: number;
  hits: number;
  misses: number;
}

export const DEFAULT_CACHE_SIZE = 10_000;
/** Requests whose Cedar form is larger than this are evaluated but not cached (bounds cache memory). */
export const MAX_CACHED_REQUEST_CHARS = 4096;

/**
 * A compiled, immutable policy set. Activating a new policy version means compiling a new engine; the
 * old engine's decision cache goes with it, so no decision outlives the policy text that made it.
 */
export class PolicyEngine {
  /** SHA-256 (hex) of the policy text: the version identifier shown in audit records. */
  readonly hash: string;
  readonly policies: readonly PolicyInfo[];
  /** Validator warnings (e.g. a policy that can never apply); they do not stop compilation. */
  readonly warnings: readonly PolicySetError[];
  private readonly byId: ReadonlyMap<string, PolicyInfo>;
  private readonly policySetId: string;
  private readonly cache: LruCache<string, PolicyDecision>;
  private readonly clock: () => Date;
  private readonly conditionsJson: string;
  private readonly contextReads = new Map<string, boolean>();

  private constructor(
    readonly text: string,
    hash: string,
    policies: PolicyInfo[],
    warnings: PolicySetError[],
    conditionsJson: readonly string[],
    options: PolicyEngineOptions,
  ) {
    this.conditionsJson = conditionsJson.join('\n');
    this.hash = hash;
    this.policies = Object.freeze(policies.map((p) => deepFreeze(p)));
    this.warnings = Object.freeze(warnings);
    this.byId = new Map(policies.map((p) => [p.id, p]));
    this.policySetId = `gw-policy-${hash}`;
    this.cache = new LruCache(options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.clock = options.clock ?? (() => new Date());
  }

  /** Validates and preparses a policy set. Throws {@link PolicyValidationError} if it is not valid. */
  static compile(text: string, options: PolicyEngineOptions = {}): PolicyEngine {
    const analysed = analysePolicySet(text);
    if (!analysed.ok) throw new PolicyValidationError(analysed.errors);
    ensureSchemaPreparsed();
    const hash = createHash('sha256').update(text, 'utf8').digest('hex');
    // Cedar keeps preparsed sets by id for the life of the thread (it has no release call). Keying by the
    // content hash makes recompiling the same text reuse the entry instead of growing the store.
    const answer = cedar.preparsePolicySet(`gw-policy-${hash}`, { staticPolicies: analysed.cedarPolicies });
    if (answer.type !== 'success') {
      throw new PolicyValidationError(answer.errors.map((e) => ({ message: e.message })));
    }
    return new PolicyEngine(text, hash, analysed.policies, analysed.warnings, analysed.conditionsJson, options);
  }

  /**
   * Whether a decision of this set could depend on `context.<attribute>`: some policy's conditions
   * name it. Read from Cedar's JSON form of the conditions, where the name is one JSON string however
   * it was written (`context.x`, `context["x"]`, escapes in the string): a set that never names an
   * attribute decides the same whatever its value, so a caller that cannot know the value may go on.
   * An over-approximation (a string literal equal to the name counts too), never an under-one.
   */
  readsContext(attribute: string): boolean {
    let reads = this.contextReads.get(attribute);
    if (reads === undefined) {
      reads = this.conditionsJson.includes(JSON.stringify(attribute));
      this.contextReads.set(attribute, reads);
    }
    return reads;
  }

  /** Short form of {@link hash} for logs and the API. */
  get version(): string {
    return this.hash.slice(0, 12);
  }

  /**
   * Decides one request. Never throws: malformed input or an evaluation failure yields `deny` with the
   * problem in `errors`. The returned object is frozen (it may be shared through the cache).
   */
  evaluate(input: PolicyInput): PolicyDecision {
    let request: CedarRequest;
    let key: string;
    try {
      request = buildCedarRequest(input, this.clock().getUTCHours());
      key = JSON.stringify(request);
    } catch (error) {
      return deepFreeze(invalidInput(input, error));
    }
    const cacheable = key.length <= MAX_CACHED_REQUEST_CHARS;
    if (cacheable) {
      const cached = this.cache.get(key);
      if (cached) return cached;
    }
    const decision = deepFreeze(this.decide(input, request));
    // Decisions with errors are not cached: they are rare, and an error must not be pinned by the cache.
    if (cacheable && decision.errors.length === 0) this.cache.set(key, decision);
    return decision;
  }

  /** The same decision as {@link evaluate} (computed afresh, bypassing the cache), with its evidence. */
  explain(input: PolicyInput): PolicyExplanation {
    let request: CedarRequest;
    try {
      request = buildCedarRequest(input, this.clock().getUTCHours());
    } catch (error) {
      return { decision: invalidInput(input, error), engineHash: this.hash, determining: [] };
    }
    const decision = this.decide(input, request);
    const determining = decision.determiningPolicies.flatMap((id) => {
      const info = this.byId.get(id);
      return info ? [info] : [];
    });
    return { decision, engineHash: this.hash, determining, request };
  }

  cacheStats(): CacheStats {
    return { size: this.cache.size, capacity: this.cache.capacity, hits: this.cache.hits, misses: this.cache.misses };
  }

  private decide(input: PolicyInput, request: CedarRequest): PolicyDecision {
    const problem = describeInputProblem(input);
    if (problem !== undefined) return denyDecision(['the request is malformed; denied'], [problem]);
    try {
      const answer = cedar.statefulIsAuthorized({
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context,
        entities: request.entities,
        preparsedPolicySetId: this.policySetId,
        preparsedSchemaName: PREPARSED_SCHEMA_NAME,
        validateRequest: true,
      });
      return combine(answer, this.byId, {
        principalId: input.principal.id,
        action: input.action,
        resourceName: input.resource.name,
        resourceType: input.resource.type,
        hasGrant: request.context.hasGrant === true,
      });
    } catch (error) {
      return denyDecision(['the request could not be evaluated; denied'], [errorMessage(error)]);
    }
  }
}

function invalidInput(input: unknown, error: unknown): PolicyDecision {
  return denyDecision(['the request is malformed; denied'], [describeInputProblem(input) ?? errorMessage(error)]);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
