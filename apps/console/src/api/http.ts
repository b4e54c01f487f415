/** Errors of the REST API, with the message the API gave (it names what was wrong). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown): Promise<T>;
  text(path: string): Promise<string>;
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown };
    if (typeof b.message === 'string') return b.message;
    if (Array.isArray(b.message)) return b.message.join('; ');
    if (typeof b.error === 'string') return b.error;
  }
  return `HTTP ${status}`;
}

/** A client of /api/v1 with the signed-in person's token; a 401 means the sign-in is over. */
export function createApi(base: string, token: () => string, onUnauthorized: () => void): Api {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
    if (res.status === 401) onUnauthorized();
    if (!res.ok) {
      const parsed: unknown = await res.json().catch(() => undefined);
      throw new ApiError(res.status, messageOf(res.status, parsed), parsed);
    }
    return res;
  }
  return {
    async get<T>(path: string) {
      return (await (await call('GET', path)).json()) as T;
    },
    async send<T>(method: 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown) {
      const res = await call(method, path, body);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async text(path: string) {
      return (await call('GET', path)).text();
    },
  };
}
