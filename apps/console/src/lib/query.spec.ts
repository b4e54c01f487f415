import { describe, expect, it } from 'vitest';
import { filtersFrom, toQuery } from './query.js';

describe('filters to query string', () => {
  it('leaves out empty fields, trims and sorts', () => {
    expect(toQuery({ status: 'active', principal: '  x#y ', resource: '', type: undefined })).toBe('?principal=x%23y&status=active');
    expect(toQuery({})).toBe('');
  });

  it('turns local date-times into ISO instants and refuses anything else', () => {
    const q = toQuery({ from: '2026-12-06T10:30' });
    expect(q).toBe(`?from=${encodeURIComponent(new Date('2026-12-06T10:30').toISOString())}`);
    expect(() => toQuery({ to: 'yesterday' })).toThrow(/to: not a date and time/);
    expect(() => toQuery({ from: '2026-13-45T99:99' })).toThrow(/from: not a date and time/);
  });

  it('reads only the known filters back from a URL', () => {
    expect(filtersFrom('?principal=a&evil=1&status=', ['principal', 'status'])).toEqual({ principal: 'a' });
  });
});
