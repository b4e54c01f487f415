import { readFileSync } from 'node:fs';
import { CliError } from '../errors.js';
import type { Env } from '../settings.js';
import { expiredMessage, jwtExpiry, nearExpiry, readStoredToken, saveToken, type RenewRecipe, type StoredToken } from '../token-store.js';
import { acquireToken, TOKEN_METHODS, type AcquiredToken, type TokenMethod } from './workload-token-sources.js';

export const DEFAULT_GATEWAY_AUDIENCE = 'api://gateway';

export interface Credentials {
  token: string;
  /** A process attestation to present beside the token (header, or `<token>~<attestation>`). */
  attestation?: string;
}

function isTokenMethod(method: string): method is TokenMethod {
  return (TOKEN_METHODS as readonly string[]).includes(method);
}

/**
 * Where an attestation comes from: a platform method (`github-actions`, `kubernetes`), a file
 * (`file:<path>`, e.g. a JWT-SVID written by spiffe-helper) or a variable (`env:<NAME>`, e.g. a
 * GitLab CI `id_tokens` variable). Read again on every renewal.
 */
export async function acquireFromRecipe(recipe: RenewRecipe, env: Env): Promise<AcquiredToken> {
  const { method } = recipe;
  if (method.startsWith('file:')) {
    const path = method.slice('file:'.length);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read the attestation file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (text.length > 64 * 1024) throw new CliError(`the attestation file ${path} is too large`);
    return withExpiry(text.trim());
  }
  if (method.startsWith('env:')) {
    const name = method.slice('env:'.length);
    const value = env[name];
    if (!value) throw new CliError(`${name} is not set (attestation source env:${name})`);
    return withExpiry(value.trim());
  }
  if (!isTokenMethod(method)) throw new CliError(`unknown token method "${method}"; one of ${TOKEN_METHODS.join(', ')}, file:<path>, env:<NAME>`);
  const acquired = await acquireToken(method, env, {
    resource: recipe.resource ?? DEFAULT_GATEWAY_AUDIENCE,
    audience: recipe.audience ?? DEFAULT_GATEWAY_AUDIENCE,
    ...(recipe.tokenFile !== undefined ? { tokenFile: recipe.tokenFile } : {}),
  });
  return acquired.expiresAt !== undefined ? acquired : withExpiry(acquired.token);
}

function withExpiry(token: string): AcquiredToken {
  const exp = jwtExpiry(token);
  return { token, ...(exp !== undefined ? { expiresAt: exp } : {}) };
}

/**
 * The token (and attestation) to present now: GW_TOKEN (and GW_ATTESTATION) when set; else the
 * saved ones, renewed from the workload environment when they near expiry and were acquired that
 * way (the cache is rewritten); else a "run gw login" error.
 */
export async function currentCredentials(env: Env): Promise<Credentials> {
  if (env.GW_TOKEN) {
    return { token: env.GW_TOKEN.trim(), ...(env.GW_ATTESTATION ? { attestation: env.GW_ATTESTATION.trim() } : {}) };
  }
  const stored = readStoredToken(env);
  let changed = false;
  let next: StoredToken = stored;
  if (nearExpiry(stored.token, stored.expiresAt)) {
    if (!stored.renew) throw new CliError(expiredMessage('the saved token', stored.expiresAt ?? jwtExpiry(stored.token) ?? 0));
    const fresh = await acquireFromRecipe(stored.renew, env);
    next = { ...next, token: fresh.token, ...(fresh.expiresAt !== undefined ? { expiresAt: fresh.expiresAt } : {}) };
    if (fresh.expiresAt === undefined) delete next.expiresAt;
    changed = true;
  }
  const attestation = stored.attestation;
  if (attestation && nearExpiry(attestation.token, attestation.expiresAt)) {
    if (!attestation.renew) throw new CliError(expiredMessage('the saved process attestation', attestation.expiresAt ?? 0));
    const fresh = await acquireFromRecipe(attestation.renew, env);
    next = { ...next, attestation: { ...attestation, token: fresh.token, ...(fresh.expiresAt !== undefined ? { expiresAt: fresh.expiresAt } : {}) } };
    changed = true;
  }
  if (changed) saveToken(env, next);
  return { token: next.token, ...(next.attestation ? { attestation: next.attestation.token } : {}) };
}
