import type { StatementClassification } from '@gw/sql';

/** A decision key serialized once per classification shape (see decisionKey). */
interface ShapeKey {
  kind: StatementClassification['kind'];
  tablesRead: readonly string[];
  tablesWritten: readonly string[];
  functions: readonly string[];
  columnsReferenced: readonly string[];
  readOnly: boolean;
  locksRows: boolean;
  storesUserVariables: boolean;
  columnsStored: readonly string[] | undefined;
  columnsComputed: readonly string[] | undefined;
  typesConverted: readonly string[] | undefined;
  key: string;
}
const shapeKeys = new WeakMap<object, ShapeKey>();

/**
 * The memo key of a classification: everything the decision reads. Statements of one shape (only
 * their literals differ) share the classifier's frozen lists, so the key is serialized once per shape
 * and found again by the identity of those lists; any field that differs serializes afresh.
 */
export function decisionKey(s: StatementClassification): string {
  const known = shapeKeys.get(s.actions);
  if (
    known &&
    known.tablesRead === s.tablesRead &&
    known.tablesWritten === s.tablesWritten &&
    known.functions === s.functions &&
    known.columnsReferenced === s.columnsReferenced &&
    known.kind === s.kind &&
    known.readOnly === s.readOnly &&
    known.locksRows === s.locksRows &&
    known.storesUserVariables === (s.storesUserVariables === true) &&
    known.columnsStored === s.columnsStored &&
    known.columnsComputed === s.columnsComputed &&
    known.typesConverted === s.typesConverted
  ) {
    return known.key;
  }
  const key = JSON.stringify([s.kind, s.actions, s.tablesRead, s.tablesWritten, s.functions, s.readOnly, s.locksRows, s.columnsReferenced, s.storesUserVariables === true, s.columnsStored ?? null, s.typesConverted ?? null, s.columnsComputed ?? null]);
  // Only frozen lists can be trusted to stay what they were when the key was made.
  const lists = [s.actions, s.tablesRead, s.tablesWritten, s.functions, s.columnsReferenced, ...(s.columnsStored ? [s.columnsStored] : []), ...(s.columnsComputed ? [s.columnsComputed] : []), ...(s.typesConverted ? [s.typesConverted] : [])];
  if (lists.every((list) => Object.isFrozen(list))) {
    shapeKeys.set(s.actions, { kind: s.kind, tablesRead: s.tablesRead, tablesWritten: s.tablesWritten, functions: s.functions, columnsReferenced: s.columnsReferenced, readOnly: s.readOnly, locksRows: s.locksRows, storesUserVariables: s.storesUserVariables === true, columnsStored: s.columnsStored, columnsComputed: s.columnsComputed, typesConverted: s.typesConverted, key });
  }
  return key;
}
