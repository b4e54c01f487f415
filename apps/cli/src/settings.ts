import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
export const DEFAULT_DEV_IDP_URL = 'http://127.0.0.1:9000';

function httpUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${what} is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${what} must be http(s): ${value}`);
  return url.toString().replace(/\/+$/, '');
}

/** `--api` wins over GW_API_URL, which wins over the local default. */
export function resolveApiUrl(flag: string | undefined, env: Env): string {
  return httpUrl(flag ?? env.GW_API_URL ?? DEFAULT_API_URL, flag ? '--api' : env.GW_API_URL ? 'GW_API_URL' : 'default API URL');
}

export function resolveDevIdpUrl(env: Env): string {
  return httpUrl(env.GW_DEV_IDP_URL ?? DEFAULT_DEV_IDP_URL, 'GW_DEV_IDP_URL');
}

export function configDir(env: Env): string {
  return env.GW_CONFIG_DIR ?? join(env.HOME ?? homedir(), '.config', 'gw');
}
