import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export type SigningAlg = 'ES256' | 'RS256';
const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];
const MAX_KEY_FILE_BYTES = 64 * 1024;

async function generate(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

function isPrivateSigningKey(value: unknown): value is JWK {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return typeof key['kty'] === 'string' && typeof key['d'] === 'string' && typeof key['kid'] === 'string' && SIGNING_ALGS.includes(key['alg'] as SigningAlg);
}

async function readKeyFile(keyFile: string): Promise<JWK[]> {
  const text = await readFile(keyFile, 'utf8');
  if (text.length > MAX_KEY_FILE_BYTES) throw new Error(`dev IdP key file ${keyFile} is too large`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new Error(`dev IdP key file ${keyFile} is not JSON; delete it to generate new keys`, { cause });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isPrivateSigningKey)) {
    throw new Error(`dev IdP key file ${keyFile} does not hold private ES256/RS256 JWKs; delete it to generate new keys`);
  }
  return keys;
}

/**
 * Signing keys that survive restarts, so tokens issued before a restart still verify. Created once
 * (ES256 and RS256, private, mode 0600); concurrent first starts agree on one file because the final
 * name is claimed with link(), which fails if another process got there first.
 */
export async function loadOrCreateSigningKeys(keyFile: string): Promise<JWK[]> {
  try {
    return await readKeyFile(keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  const keys = await Promise.all(SIGNING_ALGS.map(generate));
  const temporary = `${keyFile}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  return readKeyFile(keyFile);
}

/** The first key of the wanted algorithm goes first: oidc-provider signs with the first match. */
export function orderForSigning(keys: JWK[], alg: SigningAlg): JWK[] {
  return [...keys.filter((key) => key.alg === alg), ...keys.filter((key) => key.alg !== alg)];
}
