import type { AnalysisCollector } from './analysis.js';
import { parseLeadingOptions } from './option-spec.js';
import { COMMAND_OPTIONS, FIND_EXEC_ACTIONS, interpreterSpec, SHELLS, isCodeChangingVariable, LONG_TO_SHORT, OPAQUE_BUILTINS, OUTPUT_FILE_PROGRAMS, SCRIPT_RUNNERS, WORD_OPTION_PROGRAMS, WRAPPERS, type InterpreterSpec, type OutputFileSpec, type ScriptRunnerSpec, type WrapperSpec } from './program-tables.js';

/** One word of a simple command: its value, or undefined when the shell computes it at run time. */
export type Word = string | undefined;

export interface InvocationContext {
  collector: AnalysisCollector;
  /** The command's stdin is given by the line itself (pipe, `<`, here-doc, here-string). */
  stdinFromLine: boolean;
  /** Analyzes a string of shell code that a command runs (`sh -c '...'`, `su -c`, `watch`). */
  analyzeCode(code: string): void;
}

/** Builtins that take variable names, where `a[$(cmd)]` runs cmd while evaluating the subscript. */
const NAME_TAKING_BUILTINS = new Set(['printf', 'read', 'declare', 'typeset', 'local', 'export', 'readonly', 'unset', 'test', '[', 'mapfile', 'readarray', 'wait', 'getopts']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Records one simple command (program and arguments) and what it runs in turn. */
export function analyzeInvocation(words: readonly Word[], ctx: InvocationContext): void {
  const c = ctx.collector;
  if (words.length === 0) return;
  const name = words[0];
  if (name === undefined || name === '') {
    c.opaque('a program name is computed at run time');
    return;
  }
  const program = name.includes('/') ? name.slice(name.lastIndexOf('/') + 1) : name;
  if (name.includes('/')) c.programPaths.add(name);
  if (program === '') {
    c.opaque(`"${name}" names no program`);
    return;
  }
  c.programs.add(program);
  const args = words.slice(1);
  if (args.some((a) => a === undefined)) c.dynamicArgs.add(program);

  const wrapper = WRAPPERS[program];
  if (wrapper) return analyzeWrapper(program, wrapper, args, ctx);
  const runner = SCRIPT_RUNNERS[program];
  if (runner) return analyzeScriptRunner(program, runner, args, ctx);
  const interpreter = interpreterSpec(program);
  if (interpreter) return analyzeInterpreter(program, interpreter, args, ctx);

  addFlags(program, args, c);
  const opaqueBuiltin = OPAQUE_BUILTINS[program];
  const listsOnly = (args.length === 0 && ['trap', 'alias', 'hash'].includes(program)) || (program === 'crontab' && args.length === 1 && args[0] === '-l');
  if (opaqueBuiltin && !listsOnly) c.opaque(opaqueBuiltin);
  if (NAME_TAKING_BUILTINS.has(program) && args.some((a) => a !== undefined && a.includes('[') && /[$`]/.test(a))) {
    c.opaque(`${program} evaluates an array subscript that can run code`);
  }
  const commandOption =
    COMMAND_OPTIONS[program] && args.find((a) => a !== undefined && !isRsyncServerCapabilities(program, args, a) && isCommandOption(a, COMMAND_OPTIONS[program]!));
  if (commandOption) c.opaque(`${program} ${commandOption.split('=')[0]}: an option that runs a command or sets what runs`);
  if (program === 'find') analyzeFind(args, ctx);
  if (program === 'tee') for (const a of operands(args)) c.writesFiles.add(a ?? '?');
  if (program === 'dd') for (const a of args) if (a === undefined || a.startsWith('of=')) c.writesFiles.add(a === undefined ? '?' : a.slice(3));
  // `file -C -m NAME` compiles magic into NAME.mgc in the current directory: a write to a file not named.
  if (program === 'file' && args.some((a) => a === undefined || a === '--compile' || /^-[^-]*C/.test(a))) c.writesFiles.add('?');
  const writer = OUTPUT_FILE_PROGRAMS[program];
  if (writer) for (const file of filesWritten(writer, args)) c.writesFiles.add(file);
  if (program === 'socat' && args.some((a) => a === undefined || SOCAT_COMMAND_ADDRESS.test(a))) c.opaque('socat runs a command as one end of the connection (EXEC:, SYSTEM:)');
}

/** socat addresses that run a program, alone or as either half of a `!!` dual address (case does not matter). */
const SOCAT_COMMAND_ADDRESS = /(^|!!)\s*(exec|system)\s*:/i;

/** The files an OUTPUT_FILE_PROGRAMS entry writes; `?` when its options cannot be read (fail closed). */
function filesWritten(writer: OutputFileSpec, args: readonly Word[]): string[] {
  const parsed = parseLeadingOptions(args, writer, true);
  if (parsed.unknown !== undefined) return ['?'];
  const files = parsed.options.filter((o) => writer.outputOptions?.includes(o.name)).map((o) => o.value || '?');
  const operand = writer.outputOperand === undefined ? undefined : parsed.operands?.[writer.outputOperand];
  if (writer.outputOperand !== undefined && (parsed.operands?.length ?? 0) > writer.outputOperand) files.push(operand ?? '?');
  return files;
}

/**
 * Programs that run code they read (m4's syscmd, make's recipes, run-parts' scripts, dc's and ed's
 * `!`, sqlite3's `.shell`, at's jobs): interpreters of it. Code given on their command line makes the
 * line opaque; reading it from stdin is an interpreter on the session's input, as for a shell.
 */
function analyzeScriptRunner(program: string, spec: ScriptRunnerSpec, args: readonly Word[], ctx: InvocationContext): void {
  const c = ctx.collector;
  addFlags(program, args, c);
  c.interpreter = true;
  const code = args.find((a) => a === undefined || spec.codeOptions?.some((o) => a === o || (o.startsWith('--') ? a.startsWith(`${o}=`) : a.startsWith(o))));
  const files = operands(args);
  if (code !== undefined || (spec.codeOperandsFrom !== undefined && files.length > spec.codeOperandsFrom)) {
    c.opaque(`${program} runs code given on the command line`);
    return;
  }
  if (spec.stdin === 'always' || (spec.stdin === 'without-operand' && files.length <= (spec.codeOperandsFrom ?? 0))) readsProgramFromStdin(program, ctx);
}

function analyzeWrapper(program: string, spec: WrapperSpec, args: readonly Word[], ctx: InvocationContext): void {
  const c = ctx.collector;
  const parsed = parseLeadingOptions(args, spec, spec.permutesOptions);
  addFlags(program, args.slice(0, parsed.operandIndex), c);
  if (parsed.unknown !== undefined) {
    c.opaque(`${program}: cannot tell which command it runs (option ${parsed.unknown})`);
    return;
  }
  const given = new Set(parsed.options.map((o) => o.name));
  if (spec === WRAPPERS.runuser && !given.has('-u') && !given.has('--user')) return analyzeWrapper(program, WRAPPERS.su!, args, ctx);
  if (spec.noCommandOptions?.some((o) => given.has(o))) return;
  if (spec.edits === true || (spec.edits && spec.edits.some((o) => given.has(o)))) {
    for (const file of args.slice(parsed.operandIndex)) c.writesFiles.add(file ?? '?');
    return;
  }
  // `su -s /usr/bin/python3 -c CODE`: the code is for that program; only a POSIX shell's is read here.
  const shellOption = parsed.options.find((o) => spec.shellOptions?.includes(o.name));
  if (shellOption) {
    const shell = shellOption.value ?? '';
    c.programs.add(shell.slice(shell.lastIndexOf('/') + 1));
    if (shell.includes('/')) c.programPaths.add(shell);
    if (!SHELLS.includes(shell.slice(shell.lastIndexOf('/') + 1))) return c.opaque(`${program} ${shellOption.name} runs ${shell || 'a program'} as the shell`);
  }
  const code = parsed.options.find((o) => spec.codeOptions?.includes(o.name));
  if (code) return analyzeCodeWord(program, code.value, ctx);

  if (parsed.operands) {
    // su USER [ARGS]: extra operands go to the user's shell as its arguments.
    if (parsed.operands.length > (spec.positional ?? 0)) c.opaque(`${program} passes arguments to a shell`);
    else readsProgramFromStdin(program, ctx);
    return;
  }
  let rest = args.slice(parsed.operandIndex);
  if (spec.assignments) {
    while (rest.length > 0 && rest[0] !== undefined && ASSIGNMENT.test(rest[0])) {
      const variable = rest[0].slice(0, rest[0].indexOf('='));
      if (isCodeChangingVariable(variable)) c.opaque(`${program} sets ${variable}, which decides what code runs`);
      rest = rest.slice(1);
    }
  }
  let command = rest.slice(spec.positional ?? 0);
  if (spec.commandFlag && command[0] === spec.commandFlag) command = command.slice(1);
  // `flock FILE -c CMD`: shell code after the positional operand, exactly one word of it.
  if (command[0] !== undefined && spec.codeAfterPositional?.includes(command[0])) {
    if (command.length !== 2) return c.opaque(`${program} ${command[0]} takes exactly one word of shell code`);
    return analyzeCodeWord(program, command[1], ctx);
  }
  if (command.length === 0) {
    const shellOptions: readonly string[] = typeof spec.shellWithoutCommand === 'object' ? spec.shellWithoutCommand : [];
    const shell = spec.shellWithoutCommand === true || shellOptions.some((o) => given.has(o));
    if (shell) readsProgramFromStdin(program, ctx);
    return;
  }
  if (spec.operandsAreShellCode) {
    if (command.some((w) => w === undefined)) c.opaque(`${program} runs code computed at run time`);
    else ctx.analyzeCode(command.join(' '));
    return;
  }
  if (spec.shellRunsCommand?.some((o) => given.has(o)) && command.some((w) => w === undefined || /[$`]/.test(w))) {
    c.opaque(`${program} ${[...given].join(' ')} gives the command to a shell, which expands its $`);
  }
  if (spec.argumentsFromStdin) c.opaque(`${program} runs a command with arguments read at run time`);
  analyzeInvocation(command, { ...ctx, stdinFromLine: ctx.stdinFromLine || spec.argumentsFromStdin === true });
}

function analyzeInterpreter(program: string, spec: InterpreterSpec, args: readonly Word[], ctx: InvocationContext): void {
  const c = ctx.collector;
  // Shells take `+o name` / `+x` as options too.
  const optionWords = spec.codeFromOperandOptions?.length ? args.map((a) => (a !== undefined && /^\+[A-Za-z]+$/.test(a) ? `-${a.slice(1)}` : a)) : args;
  const parsed = parseLeadingOptions(optionWords, withValueOptions(spec));
  // awk and sed read their options anywhere (GNU argument order); the others stop at the script.
  addFlags(program, spec.operandIsCode ? args : args.slice(0, parsed.operandIndex), c);
  if (parsed.unknown !== undefined) {
    c.opaque(`${program}: cannot tell how it gets its program (option ${parsed.unknown})`);
    return;
  }
  if (spec.wordOptionsOpaque && args.some((a) => a === undefined || a.startsWith('-'))) {
    c.interpreter = true;
    return c.opaque(`${program}: cannot tell how it gets its program (its options are words)`);
  }
  const given = new Set(parsed.options.map((o) => o.name));
  const code = parsed.options.find((o) => spec.codeOptions?.includes(o.name));
  if (code) return analyzeCodeWord(program, code.value, ctx);
  if (spec.codeFromOperandOptions?.some((o) => given.has(o))) return analyzeCodeWord(program, parsed.operandIndex < args.length ? args[parsed.operandIndex] : '', ctx);
  c.interpreter = true;
  if (parsed.options.some((o) => spec.scriptOptions?.includes(o.name))) return;
  if (spec.operandIsCode) {
    c.opaque(`${program} runs the program text it is given`);
    return;
  }
  const script = args[parsed.operandIndex];
  if (spec.interactiveOptions?.some((o) => given.has(o)) || parsed.operandIndex >= args.length || script === '-') readsProgramFromStdin(program, ctx);
}

/** Options whose value is code or a script take a value when the options are read. */
function withValueOptions(spec: InterpreterSpec): InterpreterSpec {
  const taking = [...(spec.codeOptions ?? []), ...(spec.scriptOptions ?? [])];
  const short = taking.filter((o) => /^-[A-Za-z]$/.test(o)).map((o) => o.slice(1)).join('');
  const long = taking.filter((o) => o.startsWith('--')).map((o) => o.slice(2));
  return { ...spec, valueShort: (spec.valueShort ?? '') + short, valueLong: [...(spec.valueLong ?? []), ...long] };
}

/**
 * Code given as a word: a shell's is analyzed like the line itself; any other language's is opaque
 * (what a Python or Perl string does cannot be told without running it).
 */
function analyzeCodeWord(program: string, code: Word, ctx: InvocationContext): void {
  const c = ctx.collector;
  const shellCode = interpreterSpec(program)?.codeFromOperandOptions?.length || WRAPPERS[program] !== undefined;
  if (!shellCode) {
    c.interpreter = true;
    c.opaque(`${program} runs code given on the command line`);
    return;
  }
  if (code === undefined) c.opaque(`${program} runs code computed at run time`);
  else ctx.analyzeCode(code);
}

/** An interpreter with no program of its own reads it from stdin: the session's (a shell), or the line's (opaque). */
function readsProgramFromStdin(program: string, ctx: InvocationContext): void {
  ctx.collector.interpreter = true;
  if (ctx.stdinFromLine) ctx.collector.opaque(`${program} reads its program from input the command line supplies`);
  else ctx.collector.shell = true;
}

function analyzeFind(args: readonly Word[], ctx: InvocationContext): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a !== undefined && FIND_EXEC_ACTIONS.has(a)) {
      let end = i + 1;
      while (end < args.length && args[end] !== ';' && args[end] !== '+') end++;
      ctx.collector.opaque(`find ${a} runs a command for each file found`);
      analyzeInvocation(args.slice(i + 1, end).filter((w) => w !== '{}'), { ...ctx, stdinFromLine: true });
      i = end;
    } else if (a !== undefined && /^-f(print0?|printf|ls)$/.test(a)) ctx.collector.writesFiles.add(args[i + 1] ?? '?');
  }
}

/** Whether an argument is one of the options listed (see COMMAND_OPTIONS), abbreviated or in a cluster. */
/**
 * `rsync --server ...` is what a client's `rsync -e ssh` runs on the remote end. There the value
 * attached to `-e` in the option cluster (`-vlogDtpre.iLsfxCIvu`) is the client's capability string,
 * which the server reads as data and never runs (rsync's server mode takes it as its client info); it
 * is not `--rsh`. Only that exact shape is let through: letters, `e`, a dot, letters.
 */
const RSYNC_SERVER_CAPABILITIES = /^-[A-Za-z]*e\.[A-Za-z]*$/;

function isRsyncServerCapabilities(program: string, args: readonly Word[], arg: string): boolean {
  return program === 'rsync' && args[0] === '--server' && RSYNC_SERVER_CAPABILITIES.test(arg);
}

function isCommandOption(arg: string, listed: readonly string[]): boolean {
  if (arg.startsWith('+')) return arg.length > 1 && (listed.includes('+') || (listed.includes('+!') && /[!|]/.test(arg)));
  if (arg.startsWith('--')) {
    const name = arg.split('=')[0]!;
    return name.length > 3 && listed.some((o) => o.startsWith(name));
  }
  return /^-[^-]/.test(arg) && (listed.includes(arg) || listed.some((o) => /^-[A-Za-z]$/.test(o) && arg.includes(o[1]!)));
}

/** Operands: arguments that are not options (before `--`), and all after it. */
function operands(args: readonly Word[]): Word[] {
  const out: Word[] = [];
  let optionsEnded = false;
  for (const a of args) {
    if (!optionsEnded && a === '--') optionsEnded = true;
    else if (optionsEnded || a === undefined || !a.startsWith('-') || a === '-') out.push(a);
  }
  return out;
}

/** Options of a program as `program:-x` / `program:--name` (see ShellCommandAnalysis.flags). */
export function addFlags(program: string, args: readonly Word[], c: AnalysisCollector): void {
  const longs = LONG_TO_SHORT[program];
  for (const a of args) {
    if (a === '--') return;
    if (a === undefined || !a.startsWith('-') || a === '-') continue;
    if (a.startsWith('--')) {
      const written = a.slice(2).split('=')[0]!;
      // GNU getopt takes any unambiguous prefix: `rm --rec` is `rm --recursive`.
      const matches = longs ? Object.keys(longs).filter((n) => n.startsWith(written)) : [];
      const name = longs && written in longs ? written : matches.length === 1 ? matches[0]! : written;
      c.flags.add(`${program}:--${name}`);
      const short = longs?.[name];
      if (short) c.flags.add(`${program}:${short}`);
    } else if (WORD_OPTION_PROGRAMS.has(program)) c.flags.add(`${program}:${a}`);
    else {
      // The capability string after rsync's server-mode `-e` is a value, not more options.
      const cluster = isRsyncServerCapabilities(program, args, a) ? a.slice(0, a.indexOf('e.') + 1) : a;
      for (const letter of cluster.slice(1)) c.flags.add(`${program}:-${letter}`);
    }
  }
}
