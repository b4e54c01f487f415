/**
 * A query can hand PII back in a shape the recognizers do not see: `email::bytea` (hex), 
 * `encode(card::bytea, 'base64')`, `encode(x, 'hex')`, `reverse(card)`. Each view below decodes one
 * such shape, lets the caller mask the decoded text, and encodes the result back the same way, so the
 * client still gets a value of the shape it asked for.
 */

/** Masks a decoded text; returns it unchanged when nothing was found. */
export type MaskText = (text: string) => string;

/** Decoded runs shorter than this many bytes cannot hold any entity the recognizers know (e-mail ≥ 6). */
const MIN_DECODED_BYTES = 6;

// Hex runs: an optional `\x` (bytea output) or `0x` (MySQL's and SQL Server's binary literals, the
// mysql client's --binary-as-hex) then at least MIN_DECODED_BYTES bytes, on word boundaries.
const HEX_RUN = /(?:(\\x|0[xX])|\b)((?:[0-9a-fA-F]{2}){6,})\b/g;
// Standard and URL-safe base64 runs of at least 8 characters (6 bytes), optional padding.
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;
/**
 * Base64 wrapped in lines (Postgres' `encode(…, 'base64')` breaks every 76 characters, MIME and the
 * `base64` tool too): a value that straddles a line break is in neither line's decoding, so a block of
 * lines of one width (a multiple of 4) is decoded whole. A block starts where a run starts (the
 * look-behind): else a long run not followed by a line would be retried from each of its characters.
 */
const BASE64_WRAPPED = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{8,}(?:\r?\n[A-Za-z0-9+/]{2,})+={0,2}/g;

/** Latin-1 keeps every byte as one code unit, so decode -> mask -> encode preserves unmasked bytes. */
function bytesToText(bytes: Buffer): string {
  return bytes.toString('latin1');
}

function textToBytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Masks what is inside hex runs (bytea `\x...` output, `encode(..., 'hex')`). */
export function maskHexRuns(value: string, mask: MaskText): string {
  if (value.length < MIN_DECODED_BYTES * 2) return value;
  return value.replace(HEX_RUN, (run: string, prefix: string | undefined, hex: string) => {
    const decoded = bytesToText(Buffer.from(hex, 'hex'));
    const masked = mask(decoded);
    if (masked === decoded) return run;
    const upper = /[A-F]/.test(hex) && !/[a-f]/.test(hex);
    const encoded = textToBytes(masked).toString('hex');
    return (prefix ?? '') + (upper ? encoded.toUpperCase() : encoded);
  });
}

/** Masks what is inside base64 runs (`encode(..., 'base64')`, base64url tokens), also wrapped in lines. */
export function maskBase64Runs(value: string, mask: MaskText): string {
  if (value.length < 8) return value;
  const unwrapped = value.includes('\n') ? value.replace(BASE64_WRAPPED, (block: string) => maskWrappedBase64(block, mask)) : value;
  return unwrapped.replace(BASE64_RUN, (run: string) => {
    const urlSafe = /[-_]/.test(run);
    if (urlSafe && /[+/]/.test(run)) return run; // mixed alphabets: not base64
    const body = run.replace(/=+$/, '');
    if (body.length % 4 === 1) return run; // no base64 encoding has this length
    const bytes = Buffer.from(body, urlSafe ? 'base64url' : 'base64');
    if (bytes.length < MIN_DECODED_BYTES || !mostlyPrintable(bytes)) return run;
    const decoded = bytesToText(bytes);
    const masked = mask(decoded);
    if (masked === decoded) return run;
    const encoded = textToBytes(masked).toString(urlSafe ? 'base64url' : 'base64');
    // Keep the run's own padding convention.
    return run.endsWith('=') || urlSafe ? encoded : encoded.replace(/=+$/, '');
  });
}

/** A block of base64 lines of one width: decoded whole, masked, encoded and wrapped the same way again. */
function maskWrappedBase64(block: string, mask: MaskText): string {
  const lines = block.split(/\r?\n/);
  const width = lines[0]?.length ?? 0;
  const last = lines[lines.length - 1] ?? '';
  if (width % 4 !== 0 || last.length > width || lines.slice(1, -1).some((line) => line.length !== width)) return block;
  const body = lines.join('').replace(/=+$/, '');
  if (body.length % 4 === 1) return block;
  const bytes = Buffer.from(body, 'base64');
  if (!mostlyPrintable(bytes)) return block;
  const decoded = bytesToText(bytes);
  const masked = mask(decoded);
  if (masked === decoded) return block;
  const encoded = textToBytes(masked).toString('base64');
  const padded = block.endsWith('=') ? encoded : encoded.replace(/=+$/, '');
  const lineBreak = block.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  for (let i = 0; i < padded.length; i += width) out.push(padded.slice(i, i + width));
  return out.join(lineBreak);
}

/**
 * Masks the base64 of a binary payload (an image or audio item of an MCP result): text that was
 * base64-encoded and labelled an image is masked and encoded again; real binary data (mostly
 * unprintable once decoded) is left as it is, however long.
 */
export function maskBase64Payload(value: string, mask: MaskText): string {
  const body = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body)) return mask(value); // not base64: text like any other
  const urlSafe = /[-_]/.test(body);
  const bytes = Buffer.from(body, urlSafe ? 'base64url' : 'base64');
  if (bytes.length < MIN_DECODED_BYTES || !mostlyPrintable(bytes)) return value;
  const decoded = bytesToText(bytes);
  const masked = mask(decoded);
  if (masked === decoded) return value;
  const encoded = textToBytes(masked).toString(urlSafe ? 'base64url' : 'base64');
  return urlSafe && !body.endsWith('=') ? encoded.replace(/=+$/, '') : encoded;
}

/**
 * Text in a wide encoding, read as if it were UTF-8 or Latin-1: UTF-16 and UTF-32 put NUL bytes beside
 * every ASCII character (`CONVERT(email USING utf16)` under MySQL's `character_set_results = binary`, or
 * `character_set_results = utf16` itself), which the recognizers would read as `\0a\0d\0a\0@`.
 * Runs of ASCII characters each padded with NULs are read without the NULs, masked, and padded again;
 * a mask of another length (`hash`) becomes `*` for every character, since the run must keep its
 * byte layout.
 */
const WIDE_RUNS: readonly RegExp[] = [
  // UTF-32 first: its runs hold no two-byte pattern of six characters.
  // eslint-disable-next-line no-control-regex -- the NUL padding is what a wide run is made of
  /[\x20-\x7e]?(?:\u0000\u0000\u0000[\x20-\x7e]){5,}(?:\u0000\u0000\u0000)?/g,
  // eslint-disable-next-line no-control-regex -- as above
  /[\x20-\x7e]?(?:\u0000[\x20-\x7e]){5,}\u0000?/g,
];

/**
 * Masks what is inside runs of UTF-16 or UTF-32 encoded ASCII (see WIDE_RUNS). Whether a run is
 * big- or little-endian does not matter: its characters are the non-NUL ones, in order, and the
 * masked ones go back to the same places.
 */
export function maskWideRuns(value: string, mask: MaskText): string {
  if (value.length < MIN_DECODED_BYTES * 2 || !value.includes('\u0000')) return value;
  let out = value;
  for (const pattern of WIDE_RUNS) {
    out = out.replace(pattern, (run: string) => {
      const places: number[] = [];
      for (let i = 0; i < run.length; i++) if (run[i] !== '\u0000') places.push(i);
      if (places.length < MIN_DECODED_BYTES) return run;
      const narrow = places.map((i) => run[i]).join('');
      const masked = mask(narrow);
      if (masked === narrow) return run;
      const chars = masked.length === narrow.length ? masked : '*'.repeat(narrow.length);
      const wide = [...run];
      places.forEach((at, k) => (wide[at] = chars[k]!));
      return wide.join('');
    });
  }
  return out;
}

/** Masks a value read backwards (`reverse(card)`), then turns it around again. */
export function maskReversed(value: string, mask: MaskText): string {
  const reversed = reverse(value);
  const masked = mask(reversed);
  return masked === reversed ? value : reverse(masked);
}

function reverse(text: string): string {
  let out = '';
  for (let i = text.length - 1; i >= 0; i--) out += text[i];
  return out;
}

/**
 * Random bytes decoded from an ordinary word are mostly unprintable; text that was base64-encoded is
 * mostly printable. Only the latter is worth scanning (and re-encoding).
 */
function mostlyPrintable(bytes: Buffer): boolean {
  let printable = 0;
  for (const b of bytes) if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d || b >= 0xc0) printable++;
  return printable >= bytes.length * 0.9;
}
