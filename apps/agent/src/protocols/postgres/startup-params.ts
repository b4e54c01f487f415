/** Startup parameters a client may pass through to the server. Others are refused (fail closed). */
const PASS_THROUGH = new Set(['application_name', 'client_encoding', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits', 'search_path']);
const IGNORED = new Set(['user', 'database']);

/** The startup parameters to forward, or a refusal message for the client. */
export function filterStartupParams(params: ReadonlyMap<string, string>): { ok: true; params: Map<string, string> } | { ok: false; message: string } {
  const out = new Map<string, string>();
  for (const [name, value] of params) {
    const lower = name.toLowerCase();
    if (IGNORED.has(lower)) continue;
    if (lower === 'replication') {
      if (/^(false|off|no|0)$/i.test(value)) continue;
      return { ok: false, message: 'replication connections are not available through the gateway' };
    }
    if (lower === 'client_encoding' && !/^(utf-?8|unicode)$/i.test(value.replace(/'/g, ''))) {
      // The classifier reads SQL as UTF-8; another encoding would let the server see different text.
      return { ok: false, message: `client_encoding "${value.slice(0, 40)}" is not supported through the gateway; use UTF8` };
    }
    if (lower === 'options') {
      if (value.trim() === '') continue;
      return { ok: false, message: 'the "options" startup parameter is not allowed through the gateway (settings there bypass statement policy)' };
    }
    if (!PASS_THROUGH.has(lower)) {
      return { ok: false, message: `startup parameter "${name.slice(0, 64)}" is not allowed through the gateway` };
    }
    out.set(name, value);
  }
  return { ok: true, params: out };
}
