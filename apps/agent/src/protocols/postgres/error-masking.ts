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
    const masked = masker.maskMessage(value, quotedValues);
    if (masked === value) continue;
    out ??= { ...fields };
    out[key] = masked;
  }
  if (fields.unknown && fields.unknown.length > 0) {
    const unknown = fields.unknown.map((f) => ({ code: f.code, value: masker.maskMessage(f.value, quotedValues) }));
    if (unknown.some((f, i) => f.value !== fields.unknown?.[i]?.value)) {
      out ??= { ...fields };
      out['unknown'] = unknown;
    }
  }
  return out;
}
