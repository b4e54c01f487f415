import type { StatementClassification } from './actions.js';
import { SqlClassifier } from './classify/classifier.js';

const defaultClassifier = new SqlClassifier();

/**
 * Classifies every statement in `text` with the process-wide classifier (cached).
 * `await loadSqlParser()` first. Throws SqlClassificationError when the text cannot be classified
 * completely: the caller must deny the statement.
 */
export function classifySql(text: string): readonly StatementClassification[] {
  return defaultClassifier.classify(text);
}
