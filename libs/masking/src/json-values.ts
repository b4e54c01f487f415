import { hintsFromNames, NO_HINTS, type ValueHints } from './hints.js';
import type { Masker } from './masker.js';

/**
 * Masking of parsed JSON documents one value at a time (Kubernetes objects, MCP results), where the
 * text scan of a whole document (Postgres json columns) would see more: the key before a value
 * (`"ssn": "536221234"` says what the bare digits are), numbers (`"card": 4111111111111111`) and the
 * keys themselves (a map keyed by e-mail address). Each walker calls these on its leaves and keys.
 */
export class JsonValueMasker {
  /** Key names repeat across a document and across documents: their hints are computed once. */
  private readonly hintsByKey = new Map<string, ValueHints>();

  constructor(private readonly masker: Masker) {}

  /**
   * A JSON scalar found under `key` (a property name, or the name of the array or column it sits in):
   * a string masked in place, a number that holds an entity (see Masker.entityInNumber) becomes null,
   * anything else is returned as it is.
   */
  leaf(value: unknown, key?: string): unknown {
    if (typeof value === 'string') return this.masker.maskEntities(value, false, this.hints(key));
    if (typeof value === 'number' && Number.isFinite(value)) {
      const entity = this.masker.entityInNumber(String(value), this.hints(key), Number.isInteger(value) ? 'integer' : 'float');
      return entity === undefined ? value : null;
    }
    return value;
  }

  /** A property name as the client may see it: keys can be PII too. */
  key(name: string): string {
    return this.masker.maskEntities(name);
  }

  /**
   * Sets `out[key]`, where `key` is a masked property name: two names that mask alike (two addresses
   * of the same shape under `full`) both stay, the later one with a `#2`, `#3` … suffix, rather than
   * one silently replacing the other.
   */
  static assign(out: Record<string, unknown>, key: string, value: unknown): void {
    let name = key;
    for (let n = 2; Object.hasOwn(out, name); n++) name = `${key}#${n}`;
    out[name] = value;
  }

  private hints(key: string | undefined): ValueHints {
    if (key === undefined || key.length === 0 || /^\d+$/.test(key)) return NO_HINTS;
    let hints = this.hintsByKey.get(key);
    if (hints === undefined) {
      hints = hintsFromNames([key]);
      if (this.hintsByKey.size >= MAX_KEYS_REMEMBERED) this.hintsByKey.clear();
      this.hintsByKey.set(key, hints);
    }
    return hints;
  }
}

const MAX_KEYS_REMEMBERED = 4096;
