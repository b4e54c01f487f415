/**
 * The `options` startup parameter, read the way the server reads it: the text is split into
 * command-line arguments at unescaped whitespace, a backslash makes the next character literal
 * (`\ ` a space, `\\` a backslash: libpq's documented escaping), and each setting is `-c name=value`,
 * `-cname=value` or `--name=value`; dashes in the name are underscores, as the server reads them.
 * Every other server switch (`-B`, `-d`, `-e`, `-F`, `-o` ...) is refused: the gateway forwards
 * settings, not server start-up flags.
 */

export interface OptionSetting {
  /** As the server would look it up (dashes turned into underscores, case kept). */
  name: string;
  value: string;
}

export type ParsedOptions = { ok: true; settings: OptionSetting[] } | { ok: false; message: string };

/** Most arguments read from one `options` value: far more than any client sends. */
const MAX_ARGUMENTS = 200;

export function parseStartupOptions(text: string): ParsedOptions {
  const args = splitArguments(text);
  if (args.length > MAX_ARGUMENTS) return { ok: false, message: `the "options" startup parameter has more than ${MAX_ARGUMENTS} arguments` };
  const settings: OptionSetting[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let body: string | undefined;
    let flag: string;
    if (arg.startsWith('--')) {
      flag = '--';
      body = arg.length > 2 ? arg.slice(2) : args[++i];
    } else if (arg.startsWith('-c')) {
      flag = '-c';
      body = arg.length > 2 ? arg.slice(2) : args[++i];
    } else {
      return { ok: false, message: `"options" switch "${bounded(arg)}" is not supported through the gateway; use -c name=value or --name=value` };
    }
    if (body === undefined) return { ok: false, message: `"options": ${flag} needs name=value` };
    const eq = body.indexOf('=');
    if (eq <= 0) return { ok: false, message: `"options": ${flag}${bounded(body)} requires a value (write ${flag === '--' ? '--name=value' : '-c name=value'})` };
    settings.push({ name: body.slice(0, eq).replace(/-/g, '_'), value: body.slice(eq + 1) });
  }
  return { ok: true, settings };
}

/** What the server's isspace() splits at (ASCII only: a non-breaking space is part of a value). */
const SERVER_WHITESPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

/** Splits at unescaped whitespace; a backslash keeps the next character (whatever it is) literally. */
export function splitArguments(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArgument = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      inArgument = true;
    } else if (SERVER_WHITESPACE.has(ch)) {
      if (inArgument) args.push(current);
      current = '';
      inArgument = false;
    } else {
      current += ch;
      inArgument = true;
    }
  }
  if (inArgument) args.push(current);
  return args;
}

function bounded(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
