import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * Test issuers that stand in for the platforms that run workloads: each has its own path under the
 * dev IdP (`/github-actions`, `/gitlab-ci`, `/kubernetes`, `/spiffe`), its own ES256 key (made at
 * start, in memory: their tokens live minutes, like the real ones) and its own discovery and JWKS.
 * The claims follow each platform's documented token shape.
 */
export const WORKLOAD_PLATFORMS = ['github-actions', 'gitlab-ci', 'kubernetes', 'spiffe'] as const;
export type WorkloadPlatform = (typeof WORKLOAD_PLATFORMS)[number];

const DEFAULT_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 3600;

export class WorkloadIssuer {
  private constructor(
    readonly platform: WorkloadPlatform,
    readonly issuer: string,
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
  ) {}

  static async create(platform: WorkloadPlatform, base: string): Promise<WorkloadIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const publicJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' };
    return new WorkloadIssuer(platform, `${base}/${platform}`, privateKey, publicJwk);
  }

  get discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/jwks`,
      subject_types_supported: ['public'],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['ES256'],
    };
  }

  /** Signs the claims as this platform's token for `audience`, valid `ttlSeconds` (default 5 min). */
  async mint(claims: JWTPayload, audience: string, ttlSeconds = DEFAULT_TTL_SECONDS): Promise<string> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) throw new Error(`token lifetime must be 1..${MAX_TTL_SECONDS} seconds`);
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new Error('a workload token needs a subject');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: randomUUID(), ...claims, iss: this.issuer, aud: audience, iat: now, nbf: now, exp: now + ttlSeconds })
      .setProtectedHeader({ alg: 'ES256', kid: this.publicJwk.kid!, typ: 'JWT' })
      .sign(this.privateKey);
  }
}

/** A GitHub Actions run as the ID token service describes it (claims of `token.actions.githubusercontent.com`). */
export interface GithubRun {
  repository: string;
  ref: string;
  runId: string;
  workflow?: string;
  sha?: string;
  environment?: string;
  actor?: string;
  runAttempt?: string;
  eventName?: string;
}

export function githubClaims(run: GithubRun): JWTPayload {
  const owner = run.repository.split('/')[0] ?? run.repository;
  const workflow = run.workflow ?? 'deploy';
  const workflowRef = `${run.repository}/.github/workflows/${workflow}.yml@${run.ref}`;
  return {
    // GitHub's default subject: the environment when the job has one, else the ref.
    sub: run.environment ? `repo:${run.repository}:environment:${run.environment}` : `repo:${run.repository}:ref:${run.ref}`,
    repository: run.repository, repository_owner: owner, ref: run.ref, ref_type: run.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    workflow, workflow_ref: workflowRef, job_workflow_ref: workflowRef, run_id: run.runId, run_attempt: run.runAttempt ?? '1',
    sha: run.sha ?? '0000000000000000000000000000000000000000', actor: run.actor ?? 'dev-actor', event_name: run.eventName ?? 'push',
    ...(run.environment ? { environment: run.environment } : {}),
  };
}

export interface GitlabJob {
  projectPath: string;
  ref: string;
  pipelineId: string;
  jobId: string;
  sha?: string;
  environment?: string;
  userLogin?: string;
}

export function gitlabClaims(job: GitlabJob): JWTPayload {
  return {
    sub: `project_path:${job.projectPath}:ref_type:branch:ref:${job.ref}`,
    project_path: job.projectPath, namespace_path: job.projectPath.split('/')[0], ref: job.ref, ref_type: 'branch',
    pipeline_id: job.pipelineId, pipeline_source: 'push', job_id: job.jobId, sha: job.sha ?? '0000000', user_login: job.userLogin ?? 'dev-user',
    ...(job.environment ? { environment: job.environment } : {}),
  };
}

export interface KubernetesPod {
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
  node?: string;
}

/** A projected service account token's claims, as the kubelet gets them from the TokenRequest API. */
export function kubernetesClaims(pod: KubernetesPod): JWTPayload {
  return {
    sub: `system:serviceaccount:${pod.namespace}:${pod.serviceAccount}`,
    'kubernetes.io': {
      namespace: pod.namespace,
      serviceaccount: { name: pod.serviceAccount, uid: randomUUID() },
      pod: { name: pod.podName, uid: pod.podUid },
      ...(pod.node ? { node: { name: pod.node, uid: randomUUID() } } : {}),
    },
  };
}

export function spiffeClaims(spiffeId: string): JWTPayload {
  if (!/^spiffe:\/\/[a-z0-9._-]+(\/\S*)?$/.test(spiffeId)) throw new Error('not a SPIFFE ID: spiffe://<trust domain>/<path>');
  return { sub: spiffeId };
}
