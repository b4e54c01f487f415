import type { StatementClassification } from '@gw/sql';
import { describe, expect, it } from 'vitest';
import { CursorRegistry } from './cursor-registry.js';

const query = (text: string) => ({ text }) as unknown as StatementClassification;
const texts = (r: CursorRegistry, name: string) => r.queries(name)?.map((q) => q.text);

describe('CursorRegistry', () => {
  it('keeps every query a name was declared with until the server confirms the cursor closed', () => {
    const r = new CursorRegistry(10);
    r.declare('c', query('A'), 'a', false);
    r.declare('c', query('B'), 'b', false);
    expect(texts(r, 'c')).toEqual(['A', 'B']);
    r.closed('c', r.mark);
    expect(r.queries('c')).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('forgets only what was declared before the closing message: a declaration pipelined after it stays', () => {
    const r = new CursorRegistry(10);
    r.declare('c', query('B'), 'b', true);
    const closeSent = r.mark; // CLOSE c sent
    r.declare('c', query('A'), 'a', true); // DECLARE c sent before the CLOSE's answer came back
    r.closed('c', closeSent);
    expect(texts(r, 'c')).toEqual(['A']);
    // The same query declared again after a close counts as new, also when it was known before.
    r.declare('d', query('D'), 'd', false);
    const idle = r.mark;
    r.declare('d', query('D'), 'd', false);
    r.transactionEnded(idle);
    expect(texts(r, 'd')).toEqual(['D']);
  });

  it('an idle ReadyForQuery ends cursors without HOLD; WITH HOLD ones stay until closed (CLOSE ALL too)', () => {
    const r = new CursorRegistry(10);
    r.declare('plain', query('P'), 'p', false);
    r.declare('held', query('H'), 'h', true);
    r.declare('portal', query('X'), 'x', false);
    r.transactionEnded(r.mark);
    expect([r.queries('plain'), texts(r, 'held'), r.queries('portal')]).toEqual([undefined, ['H'], undefined]);
    r.closed(null, r.mark);
    expect(r.queries('held')).toBeUndefined();
  });

  it('refuses declarations beyond its bound, and takes them again once closed ones are forgotten', () => {
    const r = new CursorRegistry(2);
    expect(r.declare('a', query('A'), 'a', false)).toBe(true);
    expect(r.declare('b', query('B'), 'b', false)).toBe(true);
    expect(r.declare('c', query('C'), 'c', false)).toBe(false);
    expect(r.declare('a', query('A'), 'a', false)).toBe(true); // known: no new entry
    r.closed('a', r.mark);
    expect(r.declare('c', query('C'), 'c', false)).toBe(true);
    expect(r.size).toBe(2);
  });
});
