import type { EntityMatch, Recognizer } from '../types.js';

// A JWS has three parts (header.payload.signature; the signature is empty in an unsecured JWT,
// `alg: none`, and the payload in a detached one), a JWE five (header.key.iv.ciphertext.tag; the key is
// empty for `alg: dir`). Each part is base64url, with or without `=` padding. Nothing about the header's
// first characters is fixed: a JOSE header is JSON, and JSON may start with whitespace (`\n{…` is
// `Cns…`, ` {…` is `IHs…`) or, read by a TextDecoder as jose does, a byte-order mark (`77u_…`), and list
// its keys in any order. So any run of such parts is a candidate, and decoding the header decides. The
// part classes exclude '.' and '=' ends a part, so the parts split one way only (linear matching).
const TOKEN_AT = /[A-Za-z0-9_-]{12,}={0,2}(?:\.[A-Za-z0-9_-]*={0,2}){2,4}/y;
/**
 * Longest header decoded. Headers are small, but one that carries its certificate chain (`x5c`) runs to
 * several KiB; past this a candidate is not taken for a token.
 */
const MAX_HEADER = 64 * 1024;

function isBase64Url(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
}

/**
 * The candidate runs of text, found from its dots: a token's first part is the whole run of base64url
 * characters (and up to two `=`) before a dot. Walking back from each dot stops at the one before, so
 * the text is read a bounded number of times; a pattern that may start anywhere was twice as slow on
 * dotted prose.
 */
function* candidates(text: string): Generator<RegExpExecArray> {
  let from = 0;
  for (let dot = text.indexOf('.', from); dot !== -1; dot = text.indexOf('.', from)) {
    let runEnd = dot;
    while (runEnd > 0 && dot - runEnd < 2 && text.charCodeAt(runEnd - 1) === 61) runEnd--; // '=' padding
    let start = runEnd;
    while (start > 0 && isBase64Url(text.charCodeAt(start - 1))) start--;
    from = dot + 1;
    if (runEnd - start < 12) continue;
    TOKEN_AT.lastIndex = start;
    const m = TOKEN_AT.exec(text);
    if (m === null) continue;
    from = Math.max(from, start + m[0].length);
    yield m;
  }
}

/** How many '_'/'-' positions of a candidate's first part are tried as the start of a glued-on token. */
const MAX_GLUED_STARTS = 8;

function nextSeparator(part: string, from: number): number {
  const underscore = part.indexOf('_', from);
  const dash = part.indexOf('-', from);
  return underscore < 0 ? dash : dash < 0 ? underscore : Math.min(underscore, dash);
}

/** A JWS header has an `alg`, a JWE header an `alg` and an `enc` (RFC 7515, 7516). */
type HeaderKind = 'jws' | 'jwe' | undefined;

/** Whitespace JSON allows before a value (RFC 8259): space, tab, line feed, carriage return. */
function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Where the JSON object starts in decoded header bytes (after an optional byte-order mark and
 * whitespace), or -1 when they do not start like one.
 */
function objectStart(bytes: Buffer): number {
  let at = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (at < bytes.length && isJsonSpace(bytes[at]!)) at++;
  return bytes[at] === 0x7b ? at : at === bytes.length ? bytes.length : -1;
}

function headerKind(part: string): HeaderKind {
  if (part.length > MAX_HEADER) return undefined;
  // The cheap test first, on the first 12 bytes: dotted names and other base64 do not decode to the
  // start of a JSON object and are never decoded whole nor parsed.
  if (objectStart(Buffer.from(part.slice(0, 16), 'base64url')) < 0) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  const at = objectStart(bytes);
  if (at < 0 || at === bytes.length) return undefined;
  try {
    const header: unknown = JSON.parse(bytes.subarray(at).toString('utf8'));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
    const { alg, enc } = header as { alg?: unknown; enc?: unknown };
    if (typeof alg !== 'string') return undefined;
    return typeof enc === 'string' ? 'jwe' : 'jws';
  } catch {
    return undefined;
  }
}

export const jwtRecognizer: Recognizer = {
  entity: 'jwt',
  mayMatch: (_text, hints) => hints.hasDot,
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of candidates(text)) {
      const parts = m[0].split('.');
      const first = parts[0] ?? '';
      // The token may be glued to a word by '_' or '-' (`jwt_eyJ…`, `Bearer-eyJ…`), characters that
      // base64url also uses: the header may start after one of them.
      let skip = 0;
      let kind = headerKind(first);
      for (let tries = 0; kind === undefined && tries < MAX_GLUED_STARTS; tries++) {
        const next = nextSeparator(first, skip);
        if (next < 0 || first.length - next - 1 < 12) break;
        skip = next + 1;
        kind = headerKind(first.slice(skip));
      }
      if (kind === undefined) continue;
      // A JWS is its first three parts (a sentence's final '.' or a file suffix is not part of it); a JWE
      // all five, or what there is of it when it is cut short.
      const token = [first.slice(skip), ...parts.slice(1, kind === 'jwe' ? 5 : 3)].join('.');
      const start = m.index + skip;
      found.push({ entity: 'jwt', start, end: start + token.length, normalized: token });
    }
    return found;
  },
};
