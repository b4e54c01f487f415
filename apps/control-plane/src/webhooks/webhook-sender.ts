import { fetch } from 'undici';
import { FORBIDDEN_DESTINATION, isForbiddenWebhookAddress, webhookDispatcher } from './webhook-destination.js';

export interface SendResult {
  ok: boolean;
  statusCode?: number;
  /** Why the attempt failed, short enough for the delivery row and the API. */
  error?: string;
}

const MAX_ERROR_BODY = 200;

/**
 * One HTTP attempt. 2xx is success; any other status, a redirect (never followed: the subscription
 * names the receiver, a 3xx must not move the payload elsewhere), a timeout or a connection error is
 * a failure. The timeout covers the whole exchange, reading the response included.
 */
export async function sendWebhook(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
  // A literal address never reaches the dispatcher's lookup: checked here (a subscription made before
  // the rule, or through the database, is refused at delivery too).
  if (isForbiddenWebhookAddress(new URL(url).hostname)) return { ok: false, error: FORBIDDEN_DESTINATION };
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal, dispatcher: webhookDispatcher });
    const snippet = await readSnippet(res);
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
    if (res.status >= 300 && res.status < 400) {
      return { ok: false, statusCode: res.status, error: `HTTP ${res.status}: redirect to ${res.headers.get('location') ?? '(no location)'} not followed` };
    }
    return { ok: false, statusCode: res.status, error: `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}` };
  } catch (err) {
    if (signal.aborted) return { ok: false, error: `no answer within ${timeoutMs} ms` };
    return { ok: false, error: describeNetworkError(err) };
  }
}

/** The first bytes of the answer, for the error column; the rest is discarded unread. */
async function readSnippet(res: Awaited<ReturnType<typeof fetch>>): Promise<string> {
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ERROR_BODY));
  return text.replace(/\s+/g, ' ').trim();
}

function describeNetworkError(err: unknown): string {
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, certificate problems) in `cause`.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code || cause?.message) return [cause.code, cause.message].filter(Boolean).join(': ');
  return err instanceof Error ? err.message : String(err);
}
