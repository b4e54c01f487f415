/**
 * How a program reads its own options, enough to find where its operands (and, for a wrapper, the
 * command it runs) begin. Letters are short options; names are long options without the dashes.
 */
export interface OptionSpec {
  /** Short options that take a value (attached, `-uroot`, or the next word). */
  valueShort?: string;
  /** Short options whose value is optional and only attached (`perl -i.bak`, `perl -l`): the next word is not theirs. */
  optionalValueShort?: string;
  /** Short options that take none. For wrappers, any other short option is unknown (fail closed). */
  flagShort?: string;
  valueLong?: readonly string[];
  flagLong?: readonly string[];
  /** `nice -10`: a dash and digits is an option. */
  numericOption?: boolean;
  /** A lone `-` is this option (`env -` is `env -i`). */
  loneDash?: string;
}

export interface ParsedOptions {
  /** With `permute`: the operands met between options, in order. */
  operands?: (string | undefined)[];
  /** Options seen, as `-x` and `--name`, with their values. */
  options: { name: string; value?: string }[];
  /** Index of the first operand. */
  operandIndex: number;
  /** An option the spec does not know (where the operands start is then a guess). */
  unknown?: string;
}

/**
 * Reads leading options the way getopt does for programs that stop at the first operand (wrappers
 * and interpreters: what follows belongs to the command or the script). `--` ends the options.
 * `permute`: options may follow operands (GNU order, as `su USER -c CMD`); the operands are returned.
 */
export function parseLeadingOptions(args: readonly (string | undefined)[], spec: OptionSpec, permute = false): ParsedOptions {
  const options: ParsedOptions['options'] = [];
  const operands: (string | undefined)[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i];
    if (arg === undefined) return { options, operandIndex: i, unknown: '(an argument computed at run time)' };
    if (arg === '--') return permute ? { options, operandIndex: args.length, operands: [...operands, ...args.slice(i + 1)] } : { options, operandIndex: i + 1 };
    if (permute && (!arg.startsWith('-') || arg === '-')) {
      operands.push(arg);
      i++;
      continue;
    }
    if (arg.startsWith('--')) {
      const [name, inline] = splitLong(arg.slice(2));
      if (spec.valueLong?.includes(name)) {
        if (inline !== undefined) options.push({ name: `--${name}`, value: inline });
        else {
          options.push({ name: `--${name}`, value: args[i + 1] ?? '' });
          i++;
        }
      } else if (spec.flagLong?.includes(name)) options.push({ name: `--${name}` });
      else return { options, operandIndex: i, unknown: arg };
      i++;
      continue;
    }
    if (arg === '-' && spec.loneDash) {
      options.push({ name: spec.loneDash });
      i++;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') return { options, operandIndex: i };
    if (spec.numericOption && /^-[0-9]+$/.test(arg)) {
      options.push({ name: arg });
      i++;
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      if (spec.valueShort?.includes(letter)) {
        const attached = arg.slice(j + 1);
        if (attached !== '') options.push({ name: `-${letter}`, value: attached });
        else {
          options.push({ name: `-${letter}`, value: args[i + 1] ?? '' });
          i++;
        }
        break;
      }
      if (spec.optionalValueShort?.includes(letter)) {
        options.push({ name: `-${letter}`, value: arg.slice(j + 1) });
        break;
      }
      if (spec.flagShort?.includes(letter)) options.push({ name: `-${letter}` });
      else return { options, operandIndex: i, unknown: `-${letter}` };
    }
    i++;
  }
  return permute ? { options, operandIndex: args.length, operands } : { options, operandIndex: i };
}

function splitLong(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}
