/**
 * Small HTTP reads from an identity provider with a deadline and a size cap, so a slow or hostile
 * endpoint can neither hang verification nor fill memory.
 */
export interface BoundedFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export class HttpFetchError extends Error {
  override readonly name = 'HttpFetchError';
}

export async function fetchBoundedText(url: string, options: BoundedFetchOptions, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  // Redirects are refused: the configured location is the one that was trusted.
  const response = await fetch(url, { ...init, signal, redirect: 'manual' });
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw new HttpFetchError(`response from ${url} is larger than ${options.maxBytes} bytes`);
  }
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.maxBytes) {
        await reader.cancel();
        throw new HttpFetchError(`response from ${url} is larger than ${options.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  return { status: response.status, text, headers: response.headers };
}

export async function fetchJson(url: string, options: BoundedFetchOptions): Promise<unknown> {
  const { status, text } = await fetchBoundedText(url, options, { headers: { accept: 'application/json' } });
  if (status !== 200) throw new HttpFetchError(`GET ${url} answered HTTP ${status}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new HttpFetchError(`GET ${url} did not return JSON`, { cause });
  }
}

/**
 * A fetch for jose's remote JWKS set that applies the same size cap; jose adds its own timeout signal.
 */
export function boundedFetchForJose(maxBytes: number, timeoutMs: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const external = init.signal ?? undefined;
    const { status, text, headers } = await fetchBoundedText(url, { maxBytes, timeoutMs, ...(external ? { signal: external } : {}) }, init);
    return new Response(text, { status, headers: { 'content-type': headers.get('content-type') ?? 'application/json' } });
  };
}
