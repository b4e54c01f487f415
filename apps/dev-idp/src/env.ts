import { DEFAULT_HOST, DEFAULT_KEY_FILE, DEFAULT_PORT, DEFAULT_TOKEN_TTL_SECONDS, type DevIdpOptions } from './dev-idp.js';

/** The only place the dev IdP reads its environment; a bad value stops it with the variable's name. */
export function devIdpOptionsFromEnv(env: NodeJS.ProcessEnv): Required<Omit<DevIdpOptions, 'issuer'>> & { issuer?: string } {
  const port = integer(env, 'DEV_IDP_PORT', DEFAULT_PORT, 0, 65_535);
  const tokenTtlSeconds = integer(env, 'DEV_IDP_TOKEN_TTL', DEFAULT_TOKEN_TTL_SECONDS, 1, 86_400);
  const signingAlg = env['DEV_IDP_SIGNING_ALG'] ?? 'ES256';
  if (signingAlg !== 'ES256' && signingAlg !== 'RS256') throw new Error('DEV_IDP_SIGNING_ALG must be ES256 or RS256');
  const issuer = env['DEV_IDP_ISSUER'];
  if (issuer !== undefined && !/^https?:\/\/[^\s]+$/.test(issuer)) throw new Error('DEV_IDP_ISSUER must be an http(s) URL');
  const consoleRedirectUris = (env['DEV_IDP_CONSOLE_REDIRECT_URIS'] ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  for (const uri of consoleRedirectUris) {
    if (!/^https?:\/\/[^\s]+\/callback$/.test(uri)) throw new Error('DEV_IDP_CONSOLE_REDIRECT_URIS must be comma-separated http(s) URLs ending in /callback');
  }
  return {
    port,
    consoleRedirectUris,
    host: env['DEV_IDP_HOST'] ?? DEFAULT_HOST,
    keyFile: env['DEV_IDP_KEY_FILE'] ?? DEFAULT_KEY_FILE,
    tokenTtlSeconds,
    signingAlg,
    ...(issuer !== undefined ? { issuer } : {}),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer between ${min} and ${max}`);
  return value;
}
