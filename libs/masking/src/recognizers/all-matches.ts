/**
 * Every match of a global regex in `text`, like `text.matchAll(re)` but without the copy of the regex
 * that matchAll makes on each call (a measurable cost when every result value is scanned). The regex's
 * `lastIndex` is reset before and after, so a shared module-level regex can be used this way.
 */
export function allMatches(re: RegExp, text: string): RegExpExecArray[] {
  if (!re.global) throw new TypeError('allMatches needs a global regex');
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  try {
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      out.push(m);
      if (m[0] === '') re.lastIndex += 1; // an empty match would repeat forever
    }
  } finally {
    re.lastIndex = 0;
  }
  return out;
}
