import type { TextHints } from '../types.js';

export function textHints(text: string): TextHints {
  let digits = 0;
  let hasAt = false;
  let hasColon = false;
  let hasDot = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 64) hasAt = true;
    else if (c === 58) hasColon = true;
    else if (c === 46) hasDot = true;
  }
  return { digits, hasAt, hasColon, hasDot };
}

/** Digits of a string, in order. */
export function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}
