import { fetchDevToken } from '../dev-login.js';
import { CliError } from '../errors.js';
import { resolveDevIdpUrl } from '../settings.js';
import { jwtExpiry, saveToken } from '../token-store.js';
import type { CliContext } from './context.js';

export async function loginCommand(ctx: CliContext, options: { dev?: string; token?: string }): Promise<void> {
  if ((options.dev === undefined) === (options.token === undefined)) {
    throw new CliError('gw login needs exactly one of --dev <client> or --token <jwt>');
  }
  let stored;
  if (options.dev !== undefined) {
    const issued = await fetchDevToken(resolveDevIdpUrl(ctx.env), options.dev);
    stored = { token: issued.token, source: `dev:${options.dev}`, ...(issued.expiresAt !== undefined ? { expiresAt: issued.expiresAt } : {}) };
  } else {
    const token = options.token ?? '';
    const exp = jwtExpiry(token.trim());
    if (exp !== undefined && exp <= Math.floor(Date.now() / 1000)) throw new CliError('that token has already expired');
    stored = { token, source: 'token', ...(exp !== undefined ? { expiresAt: exp } : {}) };
  }
  const path = saveToken(ctx.env, stored);
  const until = stored.expiresAt !== undefined ? ` (valid until ${new Date(stored.expiresAt * 1000).toISOString()})` : '';
  ctx.out(`token saved to ${path}${until}\n`);
}
