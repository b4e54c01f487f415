import { describe, expect, it } from 'vitest';
import { isTransientDatabaseError } from './transient-errors.js';

describe('isTransientDatabaseError', () => {
  it('knows a restarting or unreachable database, however wrapped', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isTransientDatabaseError(refused)).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('query failed'), { driverError: refused }))).toBe(true);
    expect(isTransientDatabaseError(new AggregateError([refused], 'all addresses failed'))).toBe(true);
  });

  it('leaves real errors alone', () => {
    expect(isTransientDatabaseError(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }))).toBe(false);
    expect(isTransientDatabaseError(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBe(false);
    expect(isTransientDatabaseError(new Error('boom'))).toBe(false);
    expect(isTransientDatabaseError(undefined)).toBe(false);
  });
});
