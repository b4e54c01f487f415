import { describe, expect, it } from 'vitest';
import { allMatches } from './all-matches.js';

describe('allMatches', () => {
  it('finds what matchAll finds and leaves the shared regex reusable', () => {
    const re = /(?<d>\d+)/g;
    const text = 'a1 b22 c333';
    expect(allMatches(re, text).map((m) => [m.index, m.groups?.['d']])).toEqual([...text.matchAll(re)].map((m) => [m.index, m.groups?.['d']]));
    expect(re.lastIndex).toBe(0);
    expect(allMatches(re, 'x9').map((m) => m[0])).toEqual(['9']);
  });

  it('steps over empty matches and refuses a non-global regex', () => {
    expect(allMatches(/x*/g, 'axb').map((m) => [m.index, m[0]])).toEqual([[0, ''], [1, 'x'], [2, ''], [3, '']]);
    expect(() => allMatches(/x/, 'x')).toThrow(TypeError);
  });
});
