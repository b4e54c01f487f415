import { describe, expect, it } from 'vitest';

import { scanTextOf } from './normalize.js';

describe('scanTextOf', () => {
  it('returns ASCII text as it is, with identity offsets', () => {
    const scan = scanTextOf('4111 1111');
    expect(scan.text).toBe('4111 1111');
    expect([scan.originalStart(2), scan.originalEnd(4)]).toEqual([2, 4]);
  });

  it.each([
    ['fullwidth', 'ａｄａ＠ｅｘ．ｉｏ', 'ada@ex.io'],
    ['Arabic-Indic digits', '٤١١١', '4111'],
    ['Devanagari digits', '४१११', '4111'],
    ['mathematical digits', '𝟒𝟏𝟏𝟏', '4111'],
    ['zero-width space and soft hyphen dropped', '41\u200b1\u00ad1', '4111'],
    ['ideographic full stop', 'a@b。io', 'a@b.io'],
    ['ligature', 'ﬁle@x.io', 'file@x.io'],
    ['circled digits', '①②', '12'],
    ['typographic dashes', '4111–1111—1111‒1111−‐', '4111-1111-1111-1111--'],
  ])('%s', (_name, input, expected) => {
    expect(scanTextOf(input).text).toBe(expected);
  });

  it('maps every scanned character back to the original characters it came from', () => {
    const original = 'pan ４１\u200b１１ ﬁ 𝟒';
    const scan = scanTextOf(original);
    expect(scan.text).toBe('pan 4111 fi 4');
    // '4111' in the scanned text covers the fullwidth digits and the zero-width space between them.
    expect(original.slice(scan.originalStart(4), scan.originalEnd(8))).toBe('４１\u200b１１');
    // One original ligature became two characters: both map to it.
    expect(original.slice(scan.originalStart(9), scan.originalEnd(10))).toBe('ﬁ');
    // A surrogate pair stays whole.
    expect(original.slice(scan.originalStart(12), scan.originalEnd(13))).toBe('𝟒');
  });
});
