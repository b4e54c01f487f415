import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, delimiter, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { apiGet } from '../api-client.js';
import { CliError } from '../errors.js';
import type { Env } from '../settings.js';
import { jwtExpiry, loadToken } from '../token-store.js';
import { currentCredentials } from '../acquire/credentials.js';
import type { CliContext } from './context.js';

const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';
const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

/** `--kubeconfig`, else the first file of KUBECONFIG, else ~/.kube/config (kubectl's own order for writing). */
export function kubeconfigPath(flag: string | undefined, env: Env): string {
  if (flag) return flag;
  const first = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  return first ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

function upsert<T>(list: Named<T>[], entry: Named<T>): Named<T>[] {
  const i = list.findIndex((e) => e.name === entry.name);
  if (i < 0) return [...list, entry];
  const copy = [...list];
  copy[i] = entry;
  return copy;
}

/**
 * `gw kubeconfig <resource>`: writes (or merges into an existing kubeconfig) a cluster, user and
 * context named `gw-<resource>`. The cluster is the gateway's endpoint for the resource with the
 * endpoint's certificate; the user is an exec credential plugin (this CLI's `kube-credential`), so
 * kubectl always presents the current token and learns its expiry.
 */
export async function kubeconfigCommand(ctx: CliContext, apiUrl: string, resource: string, opts: { kubeconfig?: string; namespace?: string; switch: boolean }): Promise<void> {
  const token = loadToken(ctx.env);
  const resources = (await apiGet(apiUrl, '/api/v1/resources', token)) as { items?: { name: string; type: string }[] };
  const found = resources.items?.find((r) => r.name === resource);
  if (!found) throw new CliError(`unknown resource "${resource}" (gw resources lists them)`);
  if (found.type !== 'kubernetes') throw new CliError(`resource "${resource}" is a ${found.type} resource, not a Kubernetes cluster`);
  const endpoint = (await apiGet(apiUrl, '/api/v1/kubernetes/endpoint', token)) as { server?: unknown; certificateAuthority?: unknown };
  if (typeof endpoint.server !== 'string' || typeof endpoint.certificateAuthority !== 'string') throw new CliError('the control plane did not describe its Kubernetes endpoint');

  const path = kubeconfigPath(opts.kubeconfig, ctx.env);
  let config: Record<string, unknown> = { apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [], users: [], contexts: [] };
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    if (text.length > MAX_KUBECONFIG_BYTES) throw new CliError(`${path} is too large to be a kubeconfig`);
    let parsed: unknown;
    try {
      parsed = parseYaml(text, { maxAliasCount: 100 });
    } catch (error) {
      throw new CliError(`${path} is not valid YAML (${(error as Error).message.split('\n')[0]}); nothing was changed`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`${path} is not a kubeconfig; nothing was changed`);
      config = { ...config, ...(parsed as Record<string, unknown>) };
    }
  }
  const name = `gw-${resource}`;
  const list = (key: string): Named<unknown>[] => {
    const value = config[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw new CliError(`${path}: "${key}" is not a list; nothing was changed`);
    return value as Named<unknown>[];
  };
  const script = realpathSync(process.argv[1] ?? '');
  config.clusters = upsert(list('clusters'), {
    name,
    cluster: { server: `${endpoint.server}/k8s/${resource}`, 'certificate-authority-data': Buffer.from(endpoint.certificateAuthority).toString('base64') },
  });
  config.users = upsert(list('users'), {
    name,
    user: {
      exec: {
        apiVersion: EXEC_API_VERSION,
        command: process.execPath,
        args: [script, '--api', apiUrl, 'kube-credential'],
        interactiveMode: 'Never',
        provideClusterInfo: false,
      },
    },
  });
  config.contexts = upsert(list('contexts'), { name, context: { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } });
  if (opts.switch) config['current-context'] = name;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, stringifyYaml(config), { mode: 0o600 });
  renameSync(temp, path);
  ctx.out(`wrote context ${name} to ${path}${opts.switch ? ' (now the current context)' : ''}: kubectl${opts.switch ? '' : ` --context ${name}`} get pods\n`);
}

/**
 * The exec credential plugin kubectl runs: prints an ExecCredential with the current token and its
 * expiry (kubectl asks again after the expiry, or after a 401).
 */
export async function kubeCredentialCommand(ctx: CliContext): Promise<void> {
  const credentials = await currentCredentials(ctx.env);
  // kubectl has one token field: a process attestation rides in it as `<token>~<attestation>`.
  const token = credentials.attestation !== undefined ? `${credentials.token}~${credentials.attestation}` : credentials.token;
  // kubectl asks again after the earlier of the two expiries.
  const expiries = [jwtExpiry(credentials.token), credentials.attestation !== undefined ? jwtExpiry(credentials.attestation) : undefined].filter((e): e is number => e !== undefined);
  const exp = expiries.length > 0 ? Math.min(...expiries) : undefined;
  ctx.out(
    `${JSON.stringify({
      apiVersion: EXEC_API_VERSION,
      kind: 'ExecCredential',
      status: { token, ...(exp !== undefined ? { expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') } : {}) },
    })}\n`,
  );
}
