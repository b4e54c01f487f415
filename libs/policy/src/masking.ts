/**
 * Masking obligations: what a policy demands be masked in results. The masking library applies them;
 * this file only parses the annotation syntax and merges rules from several policies.
 */
export const MASK_STYLES = ['partial', 'hash', 'full', 'null'] as const;
export type MaskStyle = (typeof MASK_STYLES)[number];

export const MASK_ENTITIES = ['email', 'card', 'ssn', 'iban', 'phone', 'ip', 'jwt', 'cloud_key'] as const;
export type MaskEntity = (typeof MASK_ENTITIES)[number];

export interface EntityMaskRule {
  entity: MaskEntity;
  style: MaskStyle;
}
export interface ColumnMaskRule {
  /** `schema.table`, `table`, or `*` for any table. */
  table: string;
  column: string;
  style: MaskStyle;
}
export interface MaskingObligation {
  entities: EntityMaskRule[];
  columns: ColumnMaskRule[];
}

/**
 * Strength order used when two policies mask the same thing differently. `partial` shows part of the
 * value; `hash` hides it but keeps equality (joins, correlation); `full` hides everything but the
 * value's presence; `null` removes even that.
 */
const STRENGTH: Record<MaskStyle, number> = { partial: 1, hash: 2, full: 3, null: 4 };

export function strongerStyle(a: MaskStyle, b: MaskStyle): MaskStyle {
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}

const MAX_RULES = 64;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function isStyle(value: string): value is MaskStyle {
  return (MASK_STYLES as readonly string[]).includes(value);
}
function isEntity(value: string): value is MaskEntity {
  return (MASK_ENTITIES as readonly string[]).includes(value);
}

type Parsed<T> = { rules: T[] } | { error: string };

/** Splits `a:b, c:d` into trimmed pairs; rejects empty items and missing colons. */
function splitPairs(raw: string, what: string): { pairs: [string, string][] } | { error: string } {
  const items = raw.split(',').map((item) => item.trim());
  if (items.length > MAX_RULES) return { error: `at most ${MAX_RULES} ${what} rules are allowed` };
  const pairs: [string, string][] = [];
  for (const item of items) {
    const colon = item.lastIndexOf(':');
    if (item === '' || colon <= 0) {
      return { error: `"${item}" is not a ${what} rule (expected <${what}>:<style>)` };
    }
    pairs.push([item.slice(0, colon).trim(), item.slice(colon + 1).trim()]);
  }
  return { pairs };
}

function checkStyle(style: string, item: string): string | undefined {
  return isStyle(style) ? undefined : `unknown mask style "${style}" in "${item}" (expected ${MASK_STYLES.join(', ')})`;
}

/** `@mask("email:partial, card:full")` */
export function parseEntityMask(raw: string): Parsed<EntityMaskRule> {
  const split = splitPairs(raw, 'entity');
  if ('error' in split) return split;
  const rules: EntityMaskRule[] = [];
  for (const [entity, style] of split.pairs) {
    if (!isEntity(entity)) {
      return { error: `unknown mask entity "${entity}" (expected ${MASK_ENTITIES.join(', ')})` };
    }
    const styleError = checkStyle(style, `${entity}:${style}`);
    if (styleError) return { error: styleError };
    if (rules.some((rule) => rule.entity === entity)) return { error: `entity "${entity}" is listed twice` };
    rules.push({ entity, style: style as MaskStyle });
  }
  return { rules };
}

/** `@mask_columns("public.customers.email:hash, *.phone:null")` */
export function parseColumnMask(raw: string): Parsed<ColumnMaskRule> {
  const split = splitPairs(raw, 'column');
  if ('error' in split) return split;
  const rules: ColumnMaskRule[] = [];
  for (const [path, style] of split.pairs) {
    const parts = path.split('.');
    const column = parts.pop() ?? '';
    const tableParts = parts;
    const wildcard = tableParts.length === 1 && tableParts[0] === '*';
    const validTable =
      wildcard || (tableParts.length >= 1 && tableParts.length <= 2 && tableParts.every((p) => IDENTIFIER.test(p)));
    if (!validTable || !IDENTIFIER.test(column)) {
      return {
        error: `"${path}" is not a column reference (expected <table>.<column>, <schema>.<table>.<column> or *.<column>)`,
      };
    }
    const styleError = checkStyle(style, `${path}:${style}`);
    if (styleError) return { error: styleError };
    const table = tableParts.join('.');
    if (rules.some((rule) => rule.table === table && rule.column === column)) {
      return { error: `column "${path}" is listed twice` };
    }
    rules.push({ table, column, style: style as MaskStyle });
  }
  return { rules };
}

/** Union of several obligations; where two name the same entity or column, the stronger style wins. */
export function mergeMasking(obligations: readonly MaskingObligation[]): MaskingObligation {
  const entities = new Map<MaskEntity, MaskStyle>();
  const columns = new Map<string, ColumnMaskRule>();
  for (const obligation of obligations) {
    for (const rule of obligation.entities) {
      const current = entities.get(rule.entity);
      entities.set(rule.entity, current ? strongerStyle(current, rule.style) : rule.style);
    }
    for (const rule of obligation.columns) {
      const key = `${rule.table}\u0000${rule.column}`;
      const current = columns.get(key);
      columns.set(key, { ...rule, style: current ? strongerStyle(current.style, rule.style) : rule.style });
    }
  }
  return {
    entities: [...entities].map(([entity, style]) => ({ entity, style })),
    columns: [...columns.values()],
  };
}
