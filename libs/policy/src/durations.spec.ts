import { describe, expect, it } from 'vitest';
import { parseDuration } from './durations.js';

const bounds = { minSeconds: 60, maxSeconds: 86_400 };

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['1h', 3600],
    ['1d', 86_400],
  ])('%s is %d seconds', (raw, seconds) => {
    expect(parseDuration(raw, bounds)).toEqual({ seconds });
  });

  it.each(['', '0m', '5', 'm', '1.5h', '-1h', '1 h', '1w', '01h'])('refuses %j', (raw) => {
    expect(parseDuration(raw, bounds)).toHaveProperty('error');
  });

  it('enforces bounds', () => {
    expect(parseDuration('59s', bounds)).toHaveProperty('error');
    expect(parseDuration('2d', bounds)).toHaveProperty('error');
  });
});
