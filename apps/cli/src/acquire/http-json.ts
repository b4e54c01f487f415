import { CliError } from '../errors.js';

const TIMEOUT_MS = 10_000;
const MAX_BODY = 256 * 1024;

/** One HTTP exchange with an identity endpoint; the answer must be a JSON object. Errors name `what`. */
export async function requestJson(url: string, init: RequestInit, what: string): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`${what}: cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
  const text = await response.text();
  if (text.length > MAX_BODY) throw new CliError(`${what}: response too large`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliError(`${what}: answered ${response.status} with a non-JSON body`);
  return { status: response.status, body: body as Record<string, unknown> };
}

/** The reason an OAuth-style error body gives, bounded. */
export function errorOf(body: Record<string, unknown>, status: number): string {
  const text = [body.error, body.error_description, body.message].filter((v) => typeof v === 'string').join(': ');
  return (text || `HTTP ${status}`).slice(0, 300);
}
