import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEV_TENANT_ID, findDemoClient } from './clients.js';
import { AssertionRefused, ClientAssertionVerifier, JWT_BEARER_ASSERTION } from './client-assertions.js';
import type { EntraTokenMinter } from './entra-tokens.js';
import {
  githubClaims, gitlabClaims, kubernetesClaims, spiffeClaims, WORKLOAD_PLATFORMS, WorkloadIssuer,
  type GithubRun, type WorkloadPlatform,
} from './workload-issuers.js';

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_MANAGED_IDENTITY = 'managed-etl';

class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(typeof body.error_description === 'string' ? body.error_description : `HTTP ${status}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, { error: 'invalid_request', error_description: 'body too large' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const value = JSON.parse(await readBody(req)) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    if (error instanceof HttpError) throw error;
  }
  throw new HttpError(400, { error: 'invalid_request', error_description: 'expected a JSON object' });
}

function str(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) throw new HttpError(400, { error: 'invalid_request', error_description: `"${name}" must be a non-empty string` });
  return value;
}

const oauthError = (status: number, error: string, description: string) => new HttpError(status, { error, error_description: description });

/**
 * The workload-identity side of the dev IdP: test issuers for the platforms, Entra's token endpoint
 * with client assertions, the managed identity endpoints, and the GitHub Actions ID token service.
 * Each is documented in apps/dev-idp/README.md. Never for production.
 */
export class WorkloadRoutes {
  readonly assertions: ClientAssertionVerifier;
  /** The secret App Service puts in IDENTITY_HEADER; the MSI endpoint requires it. */
  readonly identityHeader = randomBytes(16).toString('hex');
  private readonly runsByRequestToken = new Map<string, GithubRun>();

  private constructor(
    private readonly base: string,
    readonly issuers: ReadonlyMap<WorkloadPlatform, WorkloadIssuer>,
    private readonly entra: EntraTokenMinter,
    private readonly defaultResource: string,
  ) {
    this.assertions = new ClientAssertionVerifier(new Map([...issuers.values()].map((issuer) => [issuer.issuer, issuer])));
  }

  static async create(base: string, entra: EntraTokenMinter, defaultResource: string): Promise<WorkloadRoutes> {
    const issuers = new Map<WorkloadPlatform, WorkloadIssuer>();
    for (const platform of WORKLOAD_PLATFORMS) issuers.set(platform, await WorkloadIssuer.create(platform, base));
    return new WorkloadRoutes(base, issuers, entra, defaultResource);
  }

  issuer(platform: WorkloadPlatform): WorkloadIssuer {
    return this.issuers.get(platform)!;
  }

  /** The Entra-shaped token endpoint of the dev tenant (`AZURE_AUTHORITY_HOST` = the dev IdP). */
  get entraTokenEndpoint(): string {
    return `${this.base}/${DEV_TENANT_ID}/oauth2/v2.0/token`;
  }

  /** A GitHub Actions run: the URL and bearer token a runner would put in ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN. */
  startGithubRun(run: GithubRun): { requestUrl: string; requestToken: string } {
    const requestToken = randomBytes(24).toString('base64url');
    this.runsByRequestToken.set(requestToken, run);
    return { requestUrl: `${this.base}/github-actions/idtoken?api-version=2.0`, requestToken };
  }

  /** True when the request was one of these routes (answered); false to pass it to oidc-provider. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', this.base);
    const route = this.route(req.method ?? 'GET', url.pathname);
    if (!route) return false;
    route(req, url).then(
      (body) => send(res, 200, body),
      (error: unknown) => {
        if (error instanceof HttpError) send(res, error.status, error.body);
        else send(res, 500, { error: 'server_error', error_description: (error as Error).message.slice(0, 200) });
      },
    );
    return true;
  }

  private route(method: string, path: string): ((req: IncomingMessage, url: URL) => Promise<unknown>) | undefined {
    const [, first, ...rest] = path.split('/');
    const tail = rest.join('/');
    const platform = WORKLOAD_PLATFORMS.find((p) => p === first);
    if (platform && method === 'GET' && tail === '.well-known/openid-configuration') return () => Promise.resolve(this.issuer(platform).discovery);
    if (platform && method === 'GET' && tail === 'jwks') return () => Promise.resolve({ keys: [this.issuer(platform).publicJwk] });
    if (method === 'POST' && path === '/github-actions/runs') return (req) => this.newGithubRun(req);
    if (method === 'GET' && path === '/github-actions/idtoken') return (req, url) => this.githubIdToken(req, url);
    if (method === 'POST' && path === '/gitlab-ci/token') return (req) => this.gitlabToken(req);
    if (method === 'POST' && path === '/kubernetes/token') return (req) => this.kubernetesToken(req);
    if (method === 'POST' && path === '/spiffe/svid') return (req) => this.spiffeSvid(req);
    if (method === 'POST' && path === `/${DEV_TENANT_ID}/oauth2/v2.0/token`) return (req) => this.entraToken(req);
    if (method === 'GET' && path === '/msi/token') return (req, url) => this.appServiceManagedIdentity(req, url);
    if (method === 'GET' && path === '/metadata/identity/oauth2/token') return (req, url) => this.imdsManagedIdentity(req, url);
    if (method === 'POST' && path === '/dev/federated-credentials') return (req) => this.addFederatedCredential(req);
    if (method === 'POST' && path === '/dev/client-certificates') return (req) => this.addClientCertificate(req);
    return undefined;
  }

  private async newGithubRun(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    return this.startGithubRun({
      repository: str(body, 'repository')!, ref: str(body, 'ref')!, runId: str(body, 'runId')!,
      ...optional(body, ['workflow', 'sha', 'environment', 'actor', 'runAttempt', 'eventName']),
    });
  }

  /** GitHub's ID token service: `GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>` with the request token → `{ value }`. */
  private async githubIdToken(req: IncomingMessage, url: URL): Promise<unknown> {
    const bearer = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const run = bearer ? this.runsByRequestToken.get(bearer) : undefined;
    if (!run) throw new HttpError(401, { message: 'Bad credentials' });
    const audience = url.searchParams.get('audience') ?? 'https://github.com';
    return { value: await this.issuer('github-actions').mint(githubClaims(run), audience) };
  }

  private async gitlabToken(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    const claims = gitlabClaims({ projectPath: str(body, 'projectPath')!, ref: str(body, 'ref')!, pipelineId: str(body, 'pipelineId')!, jobId: str(body, 'jobId')!, ...optional(body, ['sha', 'environment', 'userLogin']) });
    return { token: await this.issuer('gitlab-ci').mint(claims, str(body, 'audience')!) };
  }

  /** Like the TokenRequest API behind a projected service account token volume. */
  private async kubernetesToken(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    const claims = kubernetesClaims({ namespace: str(body, 'namespace')!, serviceAccount: str(body, 'serviceAccount')!, podName: str(body, 'podName')!, podUid: str(body, 'podUid')!, ...optional(body, ['node']) });
    const ttl = typeof body.expirationSeconds === 'number' ? body.expirationSeconds : 600;
    return { token: await this.issuer('kubernetes').mint(claims, str(body, 'audience')!, ttl) };
  }

  private async spiffeSvid(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    let claims;
    try {
      claims = spiffeClaims(str(body, 'spiffeId')!);
    } catch (error) {
      throw oauthError(400, 'invalid_request', (error as Error).message);
    }
    return { token: await this.issuer('spiffe').mint(claims, str(body, 'audience')!) };
  }

  /** Entra's v2 token endpoint for client credentials with a client assertion (federated or certificate). */
  private async entraToken(req: IncomingMessage): Promise<unknown> {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'client_credentials') throw oauthError(400, 'unsupported_grant_type', 'only client_credentials is served here');
    const clientId = form.get('client_id') ?? '';
    if (!findDemoClient(clientId)) throw oauthError(400, 'unauthorized_client', `unknown client "${clientId.slice(0, 64)}"`);
    if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION || !form.get('client_assertion')) {
      throw oauthError(401, 'invalid_client', `client_assertion_type ${JWT_BEARER_ASSERTION} and a client_assertion are required`);
    }
    try {
      await this.assertions.verify(clientId, form.get('client_assertion')!, this.entraTokenEndpoint);
    } catch (error) {
      if (error instanceof AssertionRefused) throw oauthError(401, 'invalid_client', error.message);
      throw error;
    }
    const scope = form.get('scope') ?? `${this.defaultResource}/.default`;
    if (!scope.endsWith('/.default')) throw oauthError(400, 'invalid_scope', 'client credentials take a "<resource>/.default" scope');
    return this.tokenResponse(clientId, scope.slice(0, -'/.default'.length));
  }

  /** App Service / Functions: `IDENTITY_ENDPOINT?resource=...&api-version=2019-08-01` with `X-IDENTITY-HEADER`. */
  private async appServiceManagedIdentity(req: IncomingMessage, url: URL): Promise<unknown> {
    if (req.headers['x-identity-header'] !== this.identityHeader) throw new HttpError(401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER is missing or wrong' });
    const issued = await this.managedIdentityToken(url);
    return { access_token: issued.access_token, expires_on: String(issued.expiresAt), resource: issued.resource, token_type: 'Bearer', client_id: issued.clientId };
  }

  /** The instance metadata service: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...` with `Metadata: true`. */
  private async imdsManagedIdentity(req: IncomingMessage, url: URL): Promise<unknown> {
    if (req.headers['metadata'] !== 'true') throw new HttpError(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    const issued = await this.managedIdentityToken(url);
    const expiresIn = issued.expiresAt - Math.floor(Date.now() / 1000);
    return { access_token: issued.access_token, expires_in: String(expiresIn), expires_on: String(issued.expiresAt), resource: issued.resource, token_type: 'Bearer', client_id: issued.clientId };
  }

  private async managedIdentityToken(url: URL): Promise<{ access_token: string; expiresAt: number; resource: string; clientId: string }> {
    const resource = url.searchParams.get('resource');
    if (!resource) throw oauthError(400, 'invalid_request', 'resource is required');
    const clientId = url.searchParams.get('client_id') ?? DEFAULT_MANAGED_IDENTITY;
    if (!findDemoClient(clientId)?.managedIdentityResourceId) throw oauthError(400, 'invalid_request', `"${clientId.slice(0, 64)}" is not a managed identity of this host`);
    const issued = await this.entra.mint(clientId, resource);
    if (!issued) throw oauthError(400, 'invalid_request', 'unknown identity');
    return { access_token: issued.token, expiresAt: issued.expiresAt, resource, clientId };
  }

  private async tokenResponse(clientId: string, resource: string): Promise<unknown> {
    const issued = await this.entra.mint(clientId, resource);
    if (!issued) throw oauthError(400, 'unauthorized_client', 'unknown client');
    return { token_type: 'Bearer', access_token: issued.token, expires_in: issued.expiresAt - Math.floor(Date.now() / 1000) };
  }

  private async addFederatedCredential(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    const clientId = str(body, 'clientId')!;
    if (!findDemoClient(clientId)) throw oauthError(400, 'invalid_request', 'unknown client');
    this.assertions.trustFederated(clientId, str(body, 'issuer')!, str(body, 'subject')!);
    return { ok: true };
  }

  private async addClientCertificate(req: IncomingMessage): Promise<unknown> {
    const body = await readJson(req);
    const clientId = str(body, 'clientId')!;
    if (!findDemoClient(clientId)) throw oauthError(400, 'invalid_request', 'unknown client');
    const pem = body.certificate;
    if (typeof pem !== 'string' || pem.length > 16 * 1024) throw oauthError(400, 'invalid_request', '"certificate" must be a PEM certificate');
    try {
      return this.assertions.registerCertificate(clientId, pem);
    } catch (error) {
      throw oauthError(400, 'invalid_request', `not a certificate: ${(error as Error).message}`);
    }
  }
}

function optional(body: Record<string, unknown>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = str(body, name, false);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
