import { hintsFromNames, Masker, NO_HINTS, type MaskingRules, type ValueHints } from '@gw/masking';
import { serializeBackend, type NoticeFields } from '@gw/protocol-postgres';
import { maskNoticeFields } from './error-masking.js';
import { maskDataRow, type MaskField } from './row-masking.js';
import type { StatementVerdict } from './statement-policy.js';

export function hasRules(m: MaskingRules): boolean {
  return m.entities.length > 0 || m.columns.length > 0;
}

/**
 * The hints for a COPY's rows. `COPY t TO STDOUT` and `COPY t (a, b) ...` name no columns the
 * classifier reports, and `*` names none either: the copied columns could be an `ssn int`, so bare
 * digits are checked as SSNs and phone numbers (over-masking a 9-digit id that passes the SSN rules
 * is the safe mistake).
 */
export function copyHints(columns: readonly string[]): ValueHints {
  return columns.length === 0 || columns.includes('*') ? { ssn: true, phone: true } : hintsFromNames(columns);
}

/**
 * What the client sees of a statement's result under its verdict's masking: rows, COPY data,
 * notifications, reported settings, fast-path call results and the values a server quotes in an
 * error or notice. One Masker per set of rules, remembered.
 */
export class ResultMasking {
  private readonly maskers = new Map<string, Masker>();
  private readonly maskersByRules = new WeakMap<MaskingRules, Masker>();

  constructor(private readonly key: Buffer) {}

  maskerFor(rules: MaskingRules): Masker {
    // Remembered verdicts share their rules object: one lookup by identity per row, no JSON.
    const same = this.maskersByRules.get(rules);
    if (same) return same;
    const masker = this.maskerForKey(rules);
    this.maskersByRules.set(rules, masker);
    return masker;
  }

  /** The row as the client may see it: undefined when nothing in it is masked (send the server's bytes). */
  row(values: readonly (Buffer | null)[], fields: readonly MaskField[], verdict: StatementVerdict): Buffer | undefined {
    if (!hasRules(verdict.masking)) return undefined;
    return maskDataRow(values, fields, this.maskerFor(verdict.masking));
  }

  /** A COPY row (text or CSV) with recognized entities masked, or undefined when unchanged. */
  copyData(data: Buffer, verdict: StatementVerdict, hints: ValueHints = NO_HINTS): Buffer | undefined {
    const text = data.toString('utf8');
    const masked = this.maskerFor(verdict.masking).maskEntities(text, true, hints);
    return masked === text ? undefined : Buffer.from(masked, 'utf8');
  }

  /** A notification payload (pg_notify could carry a column value), or undefined when unchanged. */
  notification(payload: string, masking: MaskingRules): string | undefined {
    if (!hasRules(masking)) return undefined;
    const masked = this.maskerFor(masking).maskEntities(payload, true);
    return masked === payload ? undefined : masked;
  }

  /**
   * A reported setting's value: `set_config('application_name', email, false)` makes the server report
   * the column's value in a ParameterStatus. Undefined when unchanged.
   */
  parameterValue(value: string, masking: MaskingRules): string | undefined {
    return this.notification(value, masking);
  }

  /**
   * The result of a fast-path function call (libpq's large-object calls: `lo_read` hands back the
   * object's bytes), its bytes read as Latin-1 text like a binary bytea. Undefined when unchanged.
   */
  functionResult(result: Buffer, masking: MaskingRules): Buffer | undefined {
    if (!hasRules(masking)) return undefined;
    const text = result.toString('latin1');
    const masked = this.maskerFor(masking).maskEntities(text, true);
    return masked === text ? undefined : Buffer.from(masked, 'latin1');
  }

  /**
   * Values a server quotes in an ErrorResponse or NoticeResponse (`Key (email)=(…) already exists`, a
   * trigger's `RAISE NOTICE`), masked with the statement's masking.
   */
  notice(
    kind: 'ErrorResponse' | 'NoticeResponse',
    fields: NoticeFields,
    raw: Buffer,
    masking: MaskingRules | undefined,
    marker: string | undefined,
    /** The statement references a ruled column: every value the message quotes is masked. */
    quotedValues = false,
  ): { fields: NoticeFields; raw: Buffer } {
    if (!masking || !hasRules(masking)) return { fields, raw };
    // The marker's own error is replaced by the denial anyway; masking must not alter the marker first.
    if (marker && (fields.message ?? '').includes(marker)) return { fields, raw };
    const masked = maskNoticeFields(fields, this.maskerFor(masking), quotedValues);
    return masked ? { fields: masked, raw: serializeBackend({ kind, fields: masked }) } : { fields, raw };
  }

  private maskerForKey(rules: MaskingRules): Masker {
    const key = JSON.stringify(rules);
    let masker = this.maskers.get(key);
    if (!masker) {
      if (this.maskers.size > 64) this.maskers.clear();
      masker = new Masker(rules, { key: this.key });
      this.maskers.set(key, masker);
    }
    return masker;
  }
}
