import type { Masker } from '@gw/masking';
import type { NoticeFields } from '@gw/protocol-postgres';

/**
 * Server errors and notices quote values (`invalid input syntax for type integer: "ada@example.com"`,
 * key details of constraint violations, contexts): with masking active they are masked like result
 * text, otherwise `SELECT email::int` would read any column through the error message. Postgres cuts
 * the values it quotes in details at 64 bytes (`Failing row contains (1, 4111 1111 111..., null)`): what
 * is left of an entity at such a cut is masked by its shape (Masker.maskMessage). A statement that
 * references a column under a column rule (`(balance::text || 'x')::int`) has every quoted value
 * masked (`quotedValues`): a salary or a name has no shape a recognizer could find.
 */
const TEXT_FIELDS = ['message', 'detail', 'hint', 'where', 'internalQuery'] as const;

/**
 * The fields with every free-text field entity-masked, or undefined when nothing changed. Fields of a
 * code this version does not know could carry anything: they are masked too.
 */
export function maskNoticeFields(fields: NoticeFields, masker: Masker, quotedValues = false): NoticeFields | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key of TEXT_FIELDS) {
    const value = fields[key];
    if (value === undefined) continue;
    const masked = unquotedMasked(key, masker.maskMessage(value, quotedValues), quotedValues);
    if (masked === value) continue;
    out ??= { ...fields };
    out[key] = masked;
  }
  if (fields.unknown && fields.unknown.length > 0) {
    const unknown = fields.unknown.map((f) => ({ code: f.code, value: unquotedMasked('unknown', masker.maskMessage(f.value, quotedValues), quotedValues) }));
    if (unknown.some((f, i) => f.value !== fields.unknown?.[i]?.value)) {
      out ??= { ...fields };
      out['unknown'] = unknown;
    }
  }
  return out;
}

/** Every letter and digit becomes `*`; punctuation and spacing stay. */
const hide = (text: string): string => text.replace(/[\p{L}\p{N}]/gu, '*');

/**
 * Under a column rule (`quotedValues`) a value need not be quoted: Postgres appends it to a message
 * after a colon (`operator does not exist: Ada_Lovelace` for a `regoper` cast), and details and
 * contexts echo the input verbatim (libxml's `line 1: ...` detail repeats the XML text, a JSON error's
 * context is `JSON data, line 1: {"a":Ada...`). The server's own words cannot be told apart from the
 * value there: a message is masked from its first `: ` on, every other field whole.
 */
function unquotedMasked(field: string, text: string, quotedValues: boolean): string {
  if (!quotedValues) return text;
  if (field !== 'message') return hide(text);
  const colon = text.indexOf(': ');
  return colon < 0 ? text : text.slice(0, colon + 2) + hide(text.slice(colon + 2));
}
