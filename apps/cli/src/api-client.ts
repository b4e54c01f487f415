import { CliError } from './errors.js';
import { DECLARED_PROCESS_HEADER, declaredProcessHeader } from './acquire/declared-process.js';

const TIMEOUT_MS = 15_000;
const MAX_BODY = 8 * 1024 * 1024;

function messageOf(body: unknown): string | undefined {
  const b = body as { message?: unknown; error?: unknown } | null;
  if (typeof b?.message === 'string') return b.message;
  if (Array.isArray(b?.message)) return b.message.filter((m) => typeof m === 'string').join('; ');
  if (typeof b?.error === 'string') return b.error;
  return undefined;
}

/** GET a JSON document from the control plane with the bearer token; HTTP failures become CliErrors. */
export async function apiGet(apiUrl: string, path: string, credentials: string | { token: string; attestation?: string }): Promise<unknown> {
  const { token, attestation } = typeof credentials === 'string' ? { token: credentials, attestation: undefined } : credentials;
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', [DECLARED_PROCESS_HEADER]: declaredProcessHeader() };
  if (attestation !== undefined) headers['gateway-process-attestation'] = attestation;
  let response: Response;
  try {
    response = await fetch(`${apiUrl}${path}`, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach the control plane at ${apiUrl} (${why})`);
  }
  const text = await response.text();
  if (text.length > MAX_BODY) throw new CliError(`response from ${path} is too large`);
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status === 401) throw new CliError(`not authenticated: ${messageOf(body) ?? 'token refused'}; run gw login`);
  if (response.status === 403) throw new CliError(`not allowed: ${messageOf(body) ?? 'forbidden'}`);
  if (!response.ok) throw new CliError(`${path} failed with HTTP ${response.status}: ${messageOf(body) ?? text.slice(0, 200)}`);
  if (body === undefined) throw new CliError(`${path} answered with a non-JSON body`);
  return body;
}
