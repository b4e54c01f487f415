import { beforeAll, describe, expect, it } from 'vitest';

import { loadSqlParser, normalizeSql } from '../parser/load.js';
import { SqlClassifier } from './classifier.js';
import { integerShapeKey, shapeKeyOf } from './shape-key.js';

describe('integerShapeKey', () => {
  it('replaces free-standing integers only', () => {
    expect(integerShapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;')).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 0;');
    expect(integerShapeKey('UPDATE t1 SET a=a+-7 WHERE id IN (1,22,333) LIMIT 5')).toBe('UPDATE t1 SET a=a+-0 WHERE id IN (0,0,0) LIMIT 0');
    // Digits ending an identifier stay.
    expect(integerShapeKey('SELECT x1, é1, a_2 FROM t2 WHERE 3 > 1')).toBe('SELECT x1, é1, a_2 FROM t2 WHERE 0 > 0');
  });

  it('leaves texts with other numeric constants to the parser', () => {
    for (const text of ['SELECT 1.5', 'SELECT .5', 'SELECT 1e5', 'SELECT 0x1F', 'SELECT 1_000', 'SELECT 1é', 'SELECT x1.5 FROM t']) {
      expect(integerShapeKey(text), text).toBeUndefined();
    }
  });

  it('refuses texts where a digit could be inside a string, an identifier or a comment', () => {
    for (const text of ["SELECT '1'", 'SELECT "1"', 'SELECT 1 -- 2', 'SELECT /* 1 */ 1', 'SELECT $1', 'SELECT $$1$$', "SELECT E'\\1'", 'SELECT U&"d1"']) {
      expect(integerShapeKey(text), text).toBeUndefined();
    }
  });
});

describe('shape keys', () => {
  beforeAll(loadSqlParser);

  it('equal integer keys mean equal normalizations by the real parser', () => {
    const texts = [
      'SELECT * FROM t WHERE a = 1 AND b > 20 ORDER BY 1 LIMIT 10 OFFSET 3',
      'SELECT * FROM t WHERE a = 999 AND b > 0 ORDER BY 2 LIMIT 1 OFFSET 77',
      'UPDATE pgbench_accounts SET abalance = abalance + -4242 WHERE aid = 7;',
      'UPDATE pgbench_accounts SET abalance = abalance + -1 WHERE aid = 100000;',
      'INSERT INTO h (a, b) VALUES (1, 2), (3, 4)',
      'INSERT INTO h (a, b) VALUES (9, 8), (7, 6)',
      'SELECT a::varchar(10) FROM t',
      'SELECT a::varchar(20) FROM t',
    ];
    const byKey = new Map<string, Set<string>>();
    for (const text of texts) {
      const key = shapeKeyOf(text)!;
      expect(key.startsWith('i'), text).toBe(true);
      const set = byKey.get(key) ?? new Set<string>();
      // The normalizer keeps ORDER BY positions and type modifiers (classification does not read them).
      set.add(normalizeSql(text).replace(/\b\d+\b/g, 'n'));
      byKey.set(key, set);
    }
    expect(byKey.size).toBe(4);
    for (const set of byKey.values()) expect(set.size).toBe(1);
  });

  it('serves texts of the same integer shape with the classification a full parse gives', () => {
    const pairs: [string, string][] = [
      ['SELECT abalance FROM pgbench_accounts WHERE aid = 1;', 'SELECT abalance FROM pgbench_accounts WHERE aid = 4711;'],
      ['SELECT * FROM t ORDER BY 1 LIMIT 5 FOR UPDATE', 'SELECT * FROM t ORDER BY 3 LIMIT 50 FOR UPDATE'],
      ['DELETE FROM t WHERE id = 1 RETURNING *', 'DELETE FROM t WHERE id = 2 RETURNING *'],
    ];
    for (const [seed, probe] of pairs) {
      const warm = new SqlClassifier();
      warm.classify(seed);
      const served = warm.classify(probe);
      expect(warm.stats.shapeHits, probe).toBe(1);
      expect(served).toEqual(new SqlClassifier().classify(probe));
    }
  });

  it('a shared classifier agrees with a cold one on many texts of a few shapes (fixed random integers)', () => {
    const templates = [
      (n: number) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${n};`,
      (n: number) => `UPDATE pgbench_tellers SET tbalance = tbalance + ${n - 500} WHERE tid = ${n % 10};`,
      (n: number) => `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${n}, ${n}, ${n}, ${n}, CURRENT_TIMESTAMP);`,
      (n: number) => `SELECT set_config('search_path', 'p${n}', false)`,
      (n: number) => `SELECT pg_sleep(${n}) FROM t${n % 3}`,
      (n: number) => `WITH d AS (DELETE FROM q${n % 2} WHERE id = ${n} RETURNING *) SELECT * FROM d`,
      (n: number) => `SELECT * FROM t WHERE a = ${n}.5 ORDER BY ${(n % 3) + 1}`,
      (n: number) => `EXPLAIN ANALYZE DELETE FROM t WHERE id = ${n}`,
    ];
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % 1000;
    };
    const shared = new SqlClassifier();
    for (let i = 0; i < 400; i++) {
      const text = templates[i % templates.length]!(random());
      expect(shared.classify(text), text).toEqual(new SqlClassifier().classify(text));
    }
    expect(shared.stats.shapeHits).toBeGreaterThan(200);
  });
});
