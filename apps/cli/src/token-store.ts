import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';
import { configDir, type Env } from './settings.js';

export const TOKEN_FILE = 'token.json';
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_FILE_BYTES = 64 * 1024;
/** A token this close to expiry is treated as expired: it would die mid-handshake. */
export const EXPIRY_SKEW_SECONDS = 30;

export interface StoredToken {
  token: string;
  /** Unix seconds, when known. */
  expiresAt?: number;
  /** How it was obtained, e.g. `dev:ai-agent`, `token` or `workload:github-actions`. */
  source: string;
  /** A workload method `gw` can run again to renew the token when it nears expiry (no secret is stored). */
  renew?: RenewRecipe;
  /** A process attestation presented beside the token, and how to renew it. */
  attestation?: { token: string; expiresAt?: number; renew?: RenewRecipe; source: string };
}

/** What `gw` needs to acquire a token again: the method and its non-secret options. */
export interface RenewRecipe {
  method: string;
  resource?: string;
  audience?: string;
  tokenFile?: string;
}

/** Reads `exp` from a JWT without verifying it (the server verifies; this only predicts expiry). */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (part === undefined || part.length > MAX_TOKEN_LENGTH) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

function checkTokenText(token: string): string {
  const trimmed = token.trim();
  if (trimmed.length === 0) throw new CliError('the token is empty');
  if (trimmed.length > MAX_TOKEN_LENGTH) throw new CliError(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  if (/\s/.test(trimmed)) throw new CliError('the token contains whitespace');
  return trimmed;
}

/** Writes the token file with mode 0600 in a 0700 directory (write to a temp file, then rename). */
export function saveToken(env: Env, stored: StoredToken): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, TOKEN_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  const body: StoredToken = { token: checkTokenText(stored.token), source: stored.source };
  if (stored.expiresAt !== undefined) body.expiresAt = stored.expiresAt;
  if (stored.renew !== undefined) body.renew = stored.renew;
  if (stored.attestation !== undefined) body.attestation = { ...stored.attestation, token: checkTokenText(stored.attestation.token) };
  writeFileSync(temp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temp, 0o600); // the umask may have narrowed it, never widened; be explicit anyway
  renameSync(temp, path);
  return path;
}

function expiredMessage(what: string, expiresAt: number): string {
  return `${what} expired at ${new Date(expiresAt * 1000).toISOString()}; run gw login (e.g. gw login --dev ai-agent)`;
}

/** The token to present: GW_TOKEN, else the saved one. Fails with a "run gw login" message. */
export function loadToken(env: Env, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const fromEnv = env.GW_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    const token = checkTokenText(fromEnv);
    const exp = jwtExpiry(token);
    if (exp !== undefined && exp <= nowSeconds + EXPIRY_SKEW_SECONDS) throw new CliError(expiredMessage('the token in GW_TOKEN', exp));
    return token;
  }
  const stored = readStoredToken(env);
  const token = checkTokenText(stored.token);
  const exp = typeof stored.expiresAt === 'number' ? stored.expiresAt : jwtExpiry(token);
  if (exp !== undefined && exp <= nowSeconds + EXPIRY_SKEW_SECONDS) throw new CliError(expiredMessage('the saved token', exp));
  return token;
}

/** True when a token (by its stored or JWT expiry) is within the skew of expiring. */
export function nearExpiry(token: string, expiresAt: number | undefined, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const exp = expiresAt ?? jwtExpiry(token);
  return exp !== undefined && exp <= nowSeconds + EXPIRY_SKEW_SECONDS;
}

/** The saved token file as written by saveToken; CliErrors say to run gw login. */
export function readStoredToken(env: Env): StoredToken {
  const path = join(configDir(env), TOKEN_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('not logged in: run gw login (or set GW_TOKEN)');
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (text.length > MAX_FILE_BYTES) throw new CliError(`${path} is too large to be a token file; run gw login`);
  let stored: Partial<StoredToken>;
  try {
    stored = JSON.parse(text) as Partial<StoredToken>;
  } catch {
    throw new CliError(`${path} is not valid JSON; run gw login`);
  }
  if (typeof stored.token !== 'string' || typeof stored.source !== 'string') throw new CliError(`${path} holds no token; run gw login`);
  return stored as StoredToken;
}

export { expiredMessage };
