import { describe, expect, it } from 'vitest';

import { SqlClassifier } from '../classify/classifier.js';

// Runs in its own worker (vitest isolates files), where loadSqlParser() was never awaited.
describe('before loadSqlParser()', () => {
  it('refuses to classify instead of guessing', () => {
    expect(() => new SqlClassifier().classify('SELECT 1')).toThrow(/loadSqlParser/);
  });
});
