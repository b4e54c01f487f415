import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

describe('reconnect backoff', () => {
  it('doubles from the initial delay and stays within the jitter band', () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const ceiling = DEFAULT_BACKOFF.initialMs * 2 ** attempt;
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0)).toBe(ceiling);
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 1)).toBe(ceiling / 2);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('never exceeds the cap, even after very many attempts', () => {
    expect(backoffDelay(6, DEFAULT_BACKOFF, () => 0)).toBe(30_000);
    expect(backoffDelay(1_000_000, DEFAULT_BACKOFF, () => 0)).toBe(30_000);
    expect(backoffDelay(1_000_000, DEFAULT_BACKOFF, () => 1)).toBe(15_000);
  });

  it('treats negative or fractional attempts and out-of-range randomness safely', () => {
    expect(backoffDelay(-3, DEFAULT_BACKOFF, () => 0)).toBe(500);
    expect(backoffDelay(1.7, DEFAULT_BACKOFF, () => 0)).toBe(1000);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 7)).toBe(250);
  });
});
