import type { JWTPayload } from 'jose';
import { TokenRejectedError } from './errors.js';

/**
 * What kind of platform an issuer is. The kind decides which claims become the `process` record and
 * which claims a token must carry. `entra` is the default (the first-class IdP of the gateway).
 */
export const ISSUER_KINDS = ['entra', 'github-actions', 'gitlab-ci', 'kubernetes', 'spiffe', 'generic'] as const;
export type IssuerKind = (typeof ISSUER_KINDS)[number];

/**
 * The exact process that acted, as a platform signed it (never from unverified input). Field names
 * are snake_case as the platforms spell them, so the REST filter (`?process.run_id=`) and Cedar
 * (`principal.process.run_id`) read the same names.
 */
export const PROCESS_FIELDS = [
  // GitHub Actions
  'repository', 'repository_owner', 'ref', 'ref_type', 'workflow', 'workflow_ref', 'job_workflow_ref',
  'run_id', 'run_attempt', 'commit', 'environment', 'actor', 'event_name',
  // GitLab CI
  'project_path', 'pipeline_id', 'job_id',
  // Kubernetes service account tokens
  'namespace', 'service_account', 'service_account_uid', 'pod_name', 'pod_uid', 'node_name',
  // SPIFFE JWT-SVID
  'spiffe_id', 'trust_domain',
  // Entra managed identity and agent identity
  'managed_identity', 'agent_id', 'agent_blueprint_id',
] as const;
export type ProcessField = (typeof PROCESS_FIELDS)[number];

export type ProcessRecord = {
  /** The issuer kind that vouched for the record. */
  platform: IssuerKind;
  /** The issuer that signed it. */
  issuer: string;
  /** `sub` of the token that proved it (GitHub: `repo:acme/deploy:ref:refs/heads/main`). */
  subject: string;
  /** `token`: the bearer token itself; `attestation`: a second token presented beside it. */
  source: 'token' | 'attestation';
  /** `jti` of the proving token, when it has one. */
  token_id?: string;
} & Partial<Record<ProcessField, string>>;

const MAX_VALUE = 512;

/** A claim as text: strings as they are, numbers as decimal (GitLab sends some ids as strings, some as numbers). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_VALUE) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function nested(payload: JWTPayload, path: readonly string[]): unknown {
  let value: unknown = payload;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Where each field comes from, per kind: a claim name, or a path into a nested claim. */
type ClaimSources = Partial<Record<ProcessField, readonly string[]>>;

const GITHUB_ACTIONS: ClaimSources = {
  repository: ['repository'], repository_owner: ['repository_owner'], ref: ['ref'], ref_type: ['ref_type'],
  workflow: ['workflow'], workflow_ref: ['workflow_ref'], job_workflow_ref: ['job_workflow_ref'],
  run_id: ['run_id'], run_attempt: ['run_attempt'], commit: ['sha'], environment: ['environment'],
  actor: ['actor'], event_name: ['event_name'],
};

const GITLAB_CI: ClaimSources = {
  project_path: ['project_path'], repository: ['project_path'], ref: ['ref'], ref_type: ['ref_type'],
  pipeline_id: ['pipeline_id'], run_id: ['pipeline_id'], job_id: ['job_id'], commit: ['sha'],
  environment: ['environment'], actor: ['user_login'], event_name: ['pipeline_source'],
};

const KUBERNETES: ClaimSources = {
  namespace: ['kubernetes.io', 'namespace'],
  service_account: ['kubernetes.io', 'serviceaccount', 'name'],
  service_account_uid: ['kubernetes.io', 'serviceaccount', 'uid'],
  pod_name: ['kubernetes.io', 'pod', 'name'],
  pod_uid: ['kubernetes.io', 'pod', 'uid'],
  node_name: ['kubernetes.io', 'node', 'name'],
};

const ENTRA: ClaimSources = {
  managed_identity: ['xms_mirid'],
  // Entra Agent ID tokens carry facet claims and name the agent identity blueprint (parent app).
  agent_blueprint_id: ['xms_par_app_azp'],
};

/** An Entra agent identity's token (facet claims present): the agent is the app the token was issued to. */
function entraFields(payload: JWTPayload): Partial<Record<ProcessField, string>> {
  const fields = fromSources(payload, ENTRA);
  const isAgent = payload['xms_act_fct'] !== undefined || payload['xms_par_app_azp'] !== undefined;
  const appId = text(payload['azp']) ?? text(payload['appid']);
  if (isAgent && appId !== undefined) fields.agent_id = appId;
  return fields;
}

/** Claims a token of the kind must carry to be a principal at all (beyond iss, sub, aud, exp, iat). */
export const REQUIRED_CLAIMS: Record<IssuerKind, readonly string[]> = {
  entra: [],
  'github-actions': ['repository', 'run_id', 'ref'],
  'gitlab-ci': ['project_path', 'pipeline_id', 'job_id'],
  kubernetes: ['kubernetes.io'],
  spiffe: [],
  generic: [],
};

function fromSources(payload: JWTPayload, sources: ClaimSources): Partial<Record<ProcessField, string>> {
  const out: Partial<Record<ProcessField, string>> = {};
  for (const field of PROCESS_FIELDS) {
    const path = sources[field];
    if (path === undefined) continue;
    const value = text(path.length === 1 ? payload[path[0]!] : nested(payload, path));
    if (value !== undefined) out[field] = value;
  }
  return out;
}

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]{1,255})(\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$/;

/**
 * The process record a verified token proves, or undefined when the token says nothing about a
 * process (an Entra app token without managed identity or agent claims). `custom` maps extra fields
 * from claims for `generic` issuers (and may add to any kind). Throws when a token of a platform kind
 * lacks what makes it that kind: a kind is a promise about the claims.
 */
export function extractProcess(
  kind: IssuerKind,
  payload: JWTPayload,
  issuer: string,
  subject: string,
  custom: Partial<Record<ProcessField, string>> = {},
): ProcessRecord | undefined {
  let fields: Partial<Record<ProcessField, string>>;
  switch (kind) {
    case 'github-actions':
      fields = fromSources(payload, GITHUB_ACTIONS);
      break;
    case 'gitlab-ci':
      fields = fromSources(payload, GITLAB_CI);
      break;
    case 'kubernetes':
      fields = fromSources(payload, KUBERNETES);
      if (fields.namespace === undefined || fields.service_account === undefined) {
        throw new TokenRejectedError('claim_missing', 'a Kubernetes service account token must name its namespace and service account');
      }
      break;
    case 'spiffe': {
      const match = SPIFFE_ID.exec(subject);
      if (!match) throw new TokenRejectedError('malformed', 'a JWT-SVID subject must be a SPIFFE ID (spiffe://<trust domain>/<path>)');
      fields = { spiffe_id: subject, trust_domain: match[1]! };
      break;
    }
    case 'entra':
      fields = entraFields(payload);
      break;
    case 'generic':
      fields = {};
      break;
  }
  for (const [field, claim] of Object.entries(custom) as [ProcessField, string][]) {
    const value = text(nested(payload, claim.split('.')));
    if (value !== undefined && fields[field] === undefined) fields[field] = value;
  }
  if (kind !== 'spiffe' && kind !== 'kubernetes' && kind !== 'github-actions' && kind !== 'gitlab-ci' && Object.keys(fields).length === 0) return undefined;
  const tokenId = text(payload.jti);
  return { platform: kind, issuer, subject, source: 'token', ...(tokenId !== undefined ? { token_id: tokenId } : {}), ...fields };
}
