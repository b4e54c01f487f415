import type { OptionSpec } from './option-spec.js';

/** A program that runs another command given in its own arguments. */
export interface WrapperSpec extends OptionSpec {
  /** Operands before the command (`timeout DURATION cmd`, `chroot NEWROOT cmd`). */
  positional?: number;
  /** `env NAME=value cmd`: assignments before the command. */
  assignments?: boolean;
  /** Options whose value is shell code (`su -c`, `flock -c`). */
  codeOptions?: readonly string[];
  /** With none of these options and no command, it starts an interactive shell (`sudo -s`, `su`, `chroot /x`). */
  shellWithoutCommand?: boolean | readonly string[];
  /** With one of these options nothing is run (`command -v`, `ionice -p`). */
  noCommandOptions?: readonly string[];
  /** The command's arguments come from stdin at run time (`xargs`). */
  argumentsFromStdin?: boolean;
  /** The operands are joined into one string of shell code (`watch`, `sg`). */
  operandsAreShellCode?: boolean;
  /** Options may follow operands (`su USER -c CMD`); it runs no command operand, only a shell. */
  permutesOptions?: boolean;
}

const SUDO_VALUE_LONG = ['user', 'group', 'host', 'prompt', 'chdir', 'close-from', 'role', 'type', 'other-user', 'command-timeout', 'chroot'];

export const WRAPPERS: Readonly<Record<string, WrapperSpec>> = {
  command: { flagShort: 'pvV', noCommandOptions: ['-v', '-V'] },
  builtin: {},
  exec: { valueShort: 'a', flagShort: 'cl' },
  nice: { valueShort: 'n', valueLong: ['adjustment'], numericOption: true },
  nohup: {},
  coproc: {},
  busybox: {},
  time: { flagShort: 'p' },
  setsid: { flagShort: 'cfw', flagLong: ['ctty', 'fork', 'wait'] },
  timeout: { valueShort: 'sk', flagShort: 'v', valueLong: ['signal', 'kill-after'], flagLong: ['preserve-status', 'foreground', 'verbose'], positional: 1 },
  env: {
    valueShort: 'uC', flagShort: 'i0v', valueLong: ['unset', 'chdir', 'block-signal', 'default-signal', 'ignore-signal'],
    flagLong: ['ignore-environment', 'null', 'debug', 'list-signal-handling'], assignments: true,
    // -S / --split-string: its value is split into a command line at run time.
    codeOptions: ['-S', '--split-string'],
  },
  ionice: { valueShort: 'cnpPu', flagShort: 't', valueLong: ['class', 'classdata', 'pid', 'pgid', 'uid'], flagLong: ['ignore'], noCommandOptions: ['-p', '-P', '-u', '--pid', '--pgid', '--uid'] },
  stdbuf: { valueShort: 'ioe', valueLong: ['input', 'output', 'error'] },
  chroot: { valueLong: ['userspec', 'groups'], flagLong: ['skip-chdir'], positional: 1, shellWithoutCommand: true },
  taskset: { flagShort: 'acp', flagLong: ['all-tasks', 'cpu-list', 'pid'], positional: 1, noCommandOptions: ['-p', '--pid'] },
  chrt: { flagShort: 'bdfiormpvaRe', valueShort: 'TPD', positional: 1, noCommandOptions: ['-p', '--pid'] },
  flock: { valueShort: 'wEc', flagShort: 'sxunoF', valueLong: ['timeout', 'conflict-exit-code', 'command'], flagLong: ['shared', 'exclusive', 'unlock', 'nonblock', 'close', 'no-fork', 'verbose'], positional: 1, codeOptions: ['-c', '--command'] },
  sudo: {
    valueShort: 'ughpCDrtUTR', flagShort: 'AbEHkKnPSBNsie', valueLong: SUDO_VALUE_LONG,
    flagLong: ['askpass', 'background', 'preserve-env', 'set-home', 'reset-timestamp', 'remove-timestamp', 'non-interactive', 'preserve-groups', 'stdin', 'bell', 'no-update', 'shell', 'login', 'edit'],
    shellWithoutCommand: ['-s', '-i', '--shell', '--login'],
  },
  doas: { valueShort: 'uC', flagShort: 'ns', shellWithoutCommand: ['-s'] },
  su: {
    valueShort: 'cgGsw', flagShort: 'lmpfP', valueLong: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment'],
    flagLong: ['login', 'preserve-environment', 'pty', 'fast'], positional: 1, codeOptions: ['-c', '--command', '--session-command'], shellWithoutCommand: true,
    permutesOptions: true,
  },
  runuser: { valueShort: 'ugGcsw', flagShort: 'lmpfP', valueLong: ['user', 'group', 'supp-group', 'command', 'session-command', 'shell', 'whitelist-environment'], flagLong: ['login', 'preserve-environment', 'pty', 'fast'], codeOptions: ['-c', '--command', '--session-command'] },
  xargs: {
    valueShort: 'aEeIiLlnPsd', flagShort: '0oprtx', valueLong: ['arg-file', 'delimiter', 'eof', 'replace', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
    flagLong: ['null', 'open-tty', 'interactive', 'no-run-if-empty', 'verbose', 'exit', 'show-limits'], argumentsFromStdin: true,
  },
  watch: { valueShort: 'dnq', flagShort: 'bcegptwx', valueLong: ['differences', 'interval', 'equexit'], flagLong: ['beep', 'color', 'chgexit', 'errexit', 'precise', 'no-title', 'no-wrap', 'exec'], operandsAreShellCode: true },
  sg: { positional: 1, operandsAreShellCode: true },
  unbuffer: { flagShort: 'p' },
  strace: { valueShort: 'oeEpPsSuIXbaU', flagShort: 'cCdDfFhiknqrtTvVwxyzZ', numericOption: false },
  ltrace: { valueShort: 'aAeElnopsSuwxXD', flagShort: 'bcCfhiLrStTV' },
};

/** How an interpreter gets its program: inline code, a script file, or stdin / the terminal. */
export interface InterpreterSpec extends OptionSpec {
  /** Options whose value is the program text (`python -c`, `perl -e`, `node -e`, `php -r`). */
  codeOptions?: readonly string[];
  /** Options that make the first operand the program text (`bash -c CODE`). */
  codeFromOperandOptions?: readonly string[];
  /** Options whose value is a script or module to run (`awk -f`, `python -m`). */
  scriptOptions?: readonly string[];
  /** Options that read the program from stdin or make the interpreter interactive (`bash -s`, `-i`). */
  interactiveOptions?: readonly string[];
  /** The first operand is program text, not a script path (awk, sed). */
  operandIsCode?: boolean;
}

const POSIX_SHELL: InterpreterSpec = {
  flagShort: 'abcefhiklmnprstuvxBCEHPT', valueShort: 'oO', valueLong: ['rcfile', 'init-file'],
  flagLong: ['login', 'noprofile', 'norc', 'posix', 'restricted', 'verbose', 'noediting', 'debugger', 'dump-strings', 'dump-po-strings', 'pretty-print'],
  codeFromOperandOptions: ['-c'], interactiveOptions: ['-i', '-s'],
};

const SHELLS = ['sh', 'bash', 'rbash', 'dash', 'ash', 'zsh', 'ksh', 'ksh93', 'mksh', 'lksh', 'pdksh', 'yash', 'posh'];
const VALUE_CODE_SHELLS = ['fish', 'csh', 'tcsh', 'nu', 'elvish', 'xonsh', 'pwsh', 'powershell'];

const PYTHON: InterpreterSpec = { flagShort: 'bBdEhiIOqsSuvVxPR', valueShort: 'WXQ', codeOptions: ['-c'], scriptOptions: ['-m'], interactiveOptions: ['-i'] };
const PERL: InterpreterSpec = { flagShort: 'acfnpsStTuUvwWX', valueShort: 'MmIxCdDiF0l', codeOptions: ['-e', '-E'] };
const RUBY: InterpreterSpec = { flagShort: 'acdlnpsSvwyU', valueShort: 'rIECFWTxK0', codeOptions: ['-e'] };
const NODE: InterpreterSpec = {
  flagShort: 'ic', valueShort: 'r', valueLong: ['require', 'import', 'input-type', 'loader', 'experimental-loader', 'conditions', 'env-file', 'title'],
  flagLong: ['interactive', 'check', 'no-warnings', 'trace-warnings', 'experimental-vm-modules', 'enable-source-maps', 'inspect', 'inspect-brk', 'watch'],
  codeOptions: ['-e', '-p', '--eval', '--print'], interactiveOptions: ['-i', '--interactive'],
};
const PHP: InterpreterSpec = { flagShort: 'ahHilmnqsvw', valueShort: 'cdfzt', codeOptions: ['-r', '-B', '-R', '-E'], scriptOptions: ['-f'], interactiveOptions: ['-a'] };
const LUA: InterpreterSpec = { flagShort: 'ivEW', valueShort: 'l', codeOptions: ['-e'], interactiveOptions: ['-i'] };
const AWK: InterpreterSpec = { flagShort: 'bcCdDgMNOPrStVyz', valueShort: 'vFlLoip', valueLong: ['assign', 'field-separator'], codeOptions: ['-e', '--source'], scriptOptions: ['-f', '--file'], operandIsCode: true };
const SED: InterpreterSpec = { flagShort: 'nrEsuzib', valueShort: 'l', flagLong: ['quiet', 'silent', 'regexp-extended', 'separate', 'unbuffered', 'null-data', 'in-place', 'posix', 'sandbox', 'debug'], codeOptions: ['-e', '--expression'], scriptOptions: ['-f', '--file'], operandIsCode: true };
const RSCRIPT: InterpreterSpec = { codeOptions: ['-e'] };

/** The interpreter spec for a program's basename, if it runs code it is given. */
export function interpreterSpec(program: string): InterpreterSpec | undefined {
  if (SHELLS.includes(program)) return POSIX_SHELL;
  if (VALUE_CODE_SHELLS.includes(program)) return { ...POSIX_SHELL, codeFromOperandOptions: [], codeOptions: ['-c', '--command', '-Command'] };
  if (/^python[0-9.]*$/.test(program) || program === 'pypy' || program === 'pypy3') return PYTHON;
  if (/^perl[0-9.]*$/.test(program)) return PERL;
  if (/^(ruby|irb)[0-9.]*$/.test(program)) return RUBY;
  if (program === 'node' || program === 'nodejs' || program === 'deno' || program === 'bun') return NODE;
  if (/^php[0-9.]*$/.test(program)) return PHP;
  if (/^lua(jit)?[0-9.]*$/.test(program)) return LUA;
  if (/^[gmn]?awk$/.test(program)) return AWK;
  if (program === 'sed' || program === 'gsed') return SED;
  if (program === 'Rscript' || program === 'R' || program === 'tclsh' || program === 'wish' || program === 'expect' || program === 'jshell' || program === 'gdb') return RSCRIPT;
  return undefined;
}

/**
 * Builtins whose arguments become code or change how names resolve: what they run cannot be known
 * from the command text.
 */
export const OPAQUE_BUILTINS: Readonly<Record<string, string>> = {
  eval: 'eval runs a string as code',
  source: 'source runs a file as code',
  '.': '. runs a file as code',
  trap: 'trap runs a string as code',
  alias: 'alias defines code',
  enable: 'enable loads builtins',
  hash: 'hash changes where a name resolves',
  fc: 'fc re-runs history',
  bind: 'bind can run code',
  let: 'let evaluates arithmetic, which can run code through array subscripts',
  complete: 'complete can run code',
  compgen: 'compgen can run code',
};

/**
 * Variables whose value decides which code runs (the search path, preloaded libraries, shell start
 * files, prompts expanded with `set -x`, programs' own hooks).
 */
export function isCodeChangingVariable(name: string): boolean {
  return (
    /^(PATH|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS[0-4]|PROMPT_COMMAND|IFS|CDPATH|GLOBIGNORE|BASH_LOADABLES_PATH|EXECIGNORE)$/.test(name) ||
    /^(LD_|BASH_FUNC_|GIT_|DYLD_)/.test(name) ||
    /^(PAGER|MANPAGER|EDITOR|VISUAL|BROWSER|LESSOPEN|LESSCLOSE|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PERL5OPT|PERL5LIB|PERLLIB|RUBYOPT|RUBYLIB|NODE_OPTIONS|NODE_PATH|SUDO_ASKPASS|SSH_ASKPASS|TAR_OPTIONS|GZIP|ZDOTDIR)$/.test(name)
  );
}

/** Long options of common destructive programs and the short option each is the same as. */
export const LONG_TO_SHORT: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rm: { recursive: '-r', force: '-f', dir: '-d', interactive: '-i', verbose: '-v', 'one-file-system': '', 'no-preserve-root': '', 'preserve-root': '' },
  rmdir: { parents: '-p', verbose: '-v', 'ignore-fail-on-non-empty': '' },
  cp: { recursive: '-r', force: '-f', 'remove-destination': '', archive: '-a', link: '-l', 'symbolic-link': '-s', 'target-directory': '-t', update: '-u', 'no-target-directory': '-T' },
  mv: { force: '-f', 'target-directory': '-t', update: '-u', 'no-clobber': '-n', 'no-target-directory': '-T' },
  shred: { remove: '-u', zero: '-z', force: '-f', iterations: '-n', size: '-s', exact: '-x', verbose: '-v' },
  sed: { 'in-place': '-i', expression: '-e', file: '-f', quiet: '-n', silent: '-n', 'regexp-extended': '-E', separate: '-s' },
  chmod: { recursive: '-R', changes: '-c', silent: '-f', quiet: '-f', verbose: '-v', reference: '' },
  chown: { recursive: '-R', changes: '-c', silent: '-f', quiet: '-f', verbose: '-v', reference: '', dereference: '' },
  truncate: { size: '-s', 'no-create': '-c', reference: '-r', 'io-blocks': '-o' },
  tee: { append: '-a', 'ignore-interrupts': '-i' },
  ln: { force: '-f', symbolic: '-s', 'no-dereference': '-n', 'target-directory': '-t' },
  rsync: { delete: '', 'remove-source-files': '', recursive: '-r', archive: '-a' },
};

/** Programs whose single-dash options are words (`find -delete`), not clusters of letters. */
export const WORD_OPTION_PROGRAMS: ReadonlySet<string> = new Set(['find', 'java', 'gcc', 'cc', 'clang', 'go', 'dd', 'openssl', 'ffmpeg', 'xdotool']);

/** `find` actions that run a command (opaque) and that write files (flags `find:-fprint` ...). */
export const FIND_EXEC_ACTIONS: ReadonlySet<string> = new Set(['-exec', '-execdir', '-ok', '-okdir']);
