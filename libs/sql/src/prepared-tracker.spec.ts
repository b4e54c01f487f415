import { beforeAll, describe, expect, it } from 'vitest';

import { SqlClassifier } from './classify/classifier.js';
import { SqlClassificationError } from './errors.js';
import { loadSqlParser } from './parser/load.js';
import { PreparedStatementTracker } from './prepared-tracker.js';

const classifier = new SqlClassifier();
const one = (sql: string) => {
  const [statement] = classifier.classify(sql);
  if (!statement) throw new Error('no statement');
  return statement;
};

describe('PreparedStatementTracker', () => {
  beforeAll(loadSqlParser);

  it('resolves EXECUTE to the prepared statement, adding what the arguments do', () => {
    const tracker = new PreparedStatementTracker();
    tracker.observe(one('PREPARE wipe(int) AS DELETE FROM t WHERE id = $1'));
    const plain = tracker.resolve(one('EXECUTE wipe(1)'));
    expect(plain.kind).toBe('delete');
    expect(plain.actions).toEqual(['sql:delete']);
    expect(plain.tablesWritten).toEqual(['t']);
    const withAdmin = tracker.resolve(one("EXECUTE wipe(pg_read_file('/x')::int)"));
    expect(withAdmin.actions).toEqual(['sql:admin', 'sql:delete']);
  });

  it('refuses an EXECUTE of an unknown or deallocated name', () => {
    const tracker = new PreparedStatementTracker();
    expect(() => tracker.resolve(one('EXECUTE nope'))).toThrow(SqlClassificationError);
    tracker.observe(one('PREPARE q AS SELECT 1'));
    tracker.observe(one('DEALLOCATE q'));
    expect(() => tracker.resolve(one('EXECUTE q'))).toThrow(/not known/);
    tracker.observe(one('PREPARE a AS SELECT 1'));
    tracker.observe(one('PREPARE b AS SELECT 2'));
    tracker.observe(one('DISCARD ALL'));
    expect(tracker.size).toBe(0);
  });

  it('keeps the first definition of a name, as the server does', () => {
    const tracker = new PreparedStatementTracker();
    tracker.observe(one('PREPARE p AS DELETE FROM t'));
    tracker.observe(one('PREPARE p AS SELECT 1')); // the server refuses this one
    expect(tracker.resolve(one('EXECUTE p')).actions).toEqual(['sql:delete']);
  });

  it('tracks protocol-level named and unnamed statements in the same namespace', () => {
    const tracker = new PreparedStatementTracker();
    tracker.registerProtocolStatement('s1', classifier.classify('UPDATE t SET a = $1'));
    expect(tracker.resolveName('s1').actions).toEqual(['sql:update']);
    expect(tracker.resolve(one('EXECUTE s1(5)')).kind).toBe('update');
    tracker.registerProtocolStatement('', classifier.classify('SELECT 1'));
    tracker.registerProtocolStatement('', classifier.classify('DELETE FROM t'));
    expect(tracker.resolveName('').kind).toBe('delete');
    tracker.closeProtocolStatement('s1');
    expect(() => tracker.resolveName('s1')).toThrow(SqlClassificationError);
    expect(() => tracker.registerProtocolStatement('m', classifier.classify('SELECT 1; SELECT 2'))).toThrow(/several/);
  });

  it('bounds the number of tracked statements', () => {
    const tracker = new PreparedStatementTracker({ maxStatements: 1 });
    tracker.observe(one('PREPARE a AS SELECT 1'));
    expect(() => tracker.observe(one('PREPARE b AS SELECT 1'))).toThrow(/more than 1/);
  });
});
