import { acquireFromRecipe, currentCredentials, DEFAULT_GATEWAY_AUDIENCE } from '../acquire/credentials.js';
import { detectMethod, TOKEN_METHODS } from '../acquire/workload-token-sources.js';
import { fetchDevToken } from '../dev-login.js';
import { CliError } from '../errors.js';
import { resolveDevIdpUrl } from '../settings.js';
import { jwtExpiry, saveToken, type RenewRecipe, type StoredToken } from '../token-store.js';
import type { CliContext } from './context.js';

export interface LoginOptions {
  dev?: string;
  token?: string;
  method?: string;
  resource?: string;
  audience?: string;
  tokenFile?: string;
  attest?: string;
  attestAudience?: string;
}

async function primaryToken(ctx: CliContext, options: LoginOptions): Promise<StoredToken> {
  const given = [options.dev, options.token, options.method].filter((v) => v !== undefined).length;
  if (given !== 1) throw new CliError('gw login needs exactly one of --dev <client>, --token <jwt> or --method <workload method|auto>');
  if (options.dev !== undefined) {
    const issued = await fetchDevToken(resolveDevIdpUrl(ctx.env), options.dev);
    return { token: issued.token, source: `dev:${options.dev}`, ...(issued.expiresAt !== undefined ? { expiresAt: issued.expiresAt } : {}) };
  }
  if (options.token !== undefined) {
    const token = options.token;
    const exp = jwtExpiry(token.trim());
    if (exp !== undefined && exp <= Math.floor(Date.now() / 1000)) throw new CliError('that token has already expired');
    return { token, source: 'token', ...(exp !== undefined ? { expiresAt: exp } : {}) };
  }
  const method = options.method === 'auto' ? detectMethod(ctx.env) : options.method!;
  if (!(TOKEN_METHODS as readonly string[]).includes(method)) throw new CliError(`--method must be auto or one of ${TOKEN_METHODS.join(', ')}`);
  const renew: RenewRecipe = {
    method,
    resource: options.resource ?? DEFAULT_GATEWAY_AUDIENCE,
    audience: options.audience ?? DEFAULT_GATEWAY_AUDIENCE,
    ...(options.tokenFile !== undefined ? { tokenFile: options.tokenFile } : {}),
  };
  const acquired = await acquireFromRecipe(renew, ctx.env);
  return { token: acquired.token, source: `workload:${method}`, renew, ...(acquired.expiresAt !== undefined ? { expiresAt: acquired.expiresAt } : {}) };
}

/** `gw login`: acquire (or take) a token, and optionally a process attestation, and cache them. */
export async function loginCommand(ctx: CliContext, options: LoginOptions): Promise<void> {
  const stored = await primaryToken(ctx, options);
  if (options.attest !== undefined) {
    const renew: RenewRecipe = { method: options.attest, audience: options.attestAudience ?? DEFAULT_GATEWAY_AUDIENCE };
    const attestation = await acquireFromRecipe(renew, ctx.env);
    stored.attestation = { token: attestation.token, source: options.attest, renew, ...(attestation.expiresAt !== undefined ? { expiresAt: attestation.expiresAt } : {}) };
  }
  const path = saveToken(ctx.env, stored);
  const until = stored.expiresAt !== undefined ? ` (valid until ${new Date(stored.expiresAt * 1000).toISOString()})` : '';
  const attested = stored.attestation ? `, with a process attestation from ${stored.attestation.source}` : '';
  ctx.out(`token saved to ${path}${until}${attested}\n`);
}

/**
 * `gw token`: print the current token, renewed from the workload environment when it nears expiry.
 * `--with-attestation` prints `<token>~<attestation>`, the form a Postgres or SSH password takes.
 */
export async function tokenCommand(ctx: CliContext, options: { withAttestation?: boolean; attestation?: boolean }): Promise<void> {
  const credentials = await currentCredentials(ctx.env);
  if (options.attestation) {
    if (!credentials.attestation) throw new CliError('no process attestation is saved; gw login --attest <source>');
    ctx.out(`${credentials.attestation}\n`);
    return;
  }
  if (options.withAttestation && !credentials.attestation) throw new CliError('no process attestation is saved; gw login --attest <source>');
  ctx.out(`${options.withAttestation ? `${credentials.token}~${credentials.attestation!}` : credentials.token}\n`);
}
