import { describe, expect, it } from 'vitest';
import { diffStats, lineDiff } from './line-diff.js';

describe('policy line diff', () => {
  it('numbers lines on both sides and marks changes', () => {
    const rows = lineDiff('permit a;\nforbid b;\nlast;\n', 'permit a;\nforbid c;\nlast;\nextra;\n');
    expect(rows).toEqual([
      { kind: 'same', oldLine: 1, newLine: 1, text: 'permit a;' },
      { kind: 'removed', oldLine: 2, text: 'forbid b;' },
      { kind: 'added', newLine: 2, text: 'forbid c;' },
      { kind: 'same', oldLine: 3, newLine: 3, text: 'last;' },
      { kind: 'added', newLine: 4, text: 'extra;' },
    ]);
    expect(diffStats(rows)).toEqual({ added: 2, removed: 1 });
  });

  it('shows no change for equal texts', () => {
    expect(diffStats(lineDiff('a\nb', 'a\nb'))).toEqual({ added: 0, removed: 0 });
  });
});
