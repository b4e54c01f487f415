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
  /** With one of these options the command is given to a shell (`sudo -s CMD`), which expands `$` in it. */
  shellRunsCommand?: readonly string[];
  /** Options whose value is the shell that runs the code (`su -s /bin/zsh -c CMD`). */
  shellOptions?: readonly string[];
  /** A flag allowed between the positional operands and the command (`sg GROUP -c CMD`). */
  commandFlag?: string;
  /** Edits its operands as files (`sudoedit F`), or does with one of these options (`sudo -e F`): they are written. */
  edits?: true | readonly string[];
  /** Words that may follow the positional operands and give one word of shell code (`flock FILE -c CMD`). */
  codeAfterPositional?: readonly string[];
}

/** How a program that runs the code it reads (see analyzeScriptRunner) gets that code. */
export interface ScriptRunnerSpec {
  /** Options whose value (or, for a short one, the rest of the word) is code: `dc -e`, `sqlite3 -cmd`. */
  codeOptions?: readonly string[];
  /** Operands from this index on are code (`sqlite3 DB SQL...`). */
  codeOperandsFrom?: number;
  /** Whether it reads code from stdin: always (ed, at), only without operands (m4, dc) or code operands (sqlite3 DB), or never (make). */
  stdin: 'always' | 'without-operand' | 'never';
}

/** A program that writes a file named by an option or an operand, and how it reads its options. */
export interface OutputFileSpec extends OptionSpec {
  /** Options whose value is a file it writes (`sort -o FILE`). */
  outputOptions?: readonly string[];
  /** The operand (0-based) that is a file it writes (`uniq INPUT OUTPUT`). */
  outputOperand?: number;
}

/** Programs with output files besides `tee` and `dd of=` (coreutils' options; others are not known, fail closed). */
export const OUTPUT_FILE_PROGRAMS: Readonly<Record<string, OutputFileSpec>> = {
  sort: {
    valueShort: 'koStT', flagShort: 'bdfghiMnRrVcCmsuz', outputOptions: ['-o', '--output'],
    valueLong: ['key', 'output', 'buffer-size', 'field-separator', 'temporary-directory', 'sort', 'random-source', 'files0-from', 'batch-size', 'parallel', 'compress-program'],
    flagLong: ['ignore-leading-blanks', 'dictionary-order', 'ignore-case', 'general-numeric-sort', 'human-numeric-sort', 'ignore-nonprinting', 'month-sort', 'numeric-sort', 'random-sort', 'reverse', 'version-sort', 'check', 'merge', 'stable', 'unique', 'zero-terminated', 'debug', 'help', 'version'],
  },
  shuf: {
    valueShort: 'ino', flagShort: 'erz', outputOptions: ['-o', '--output'],
    valueLong: ['input-range', 'head-count', 'output', 'random-source'], flagLong: ['echo', 'repeat', 'zero-terminated', 'help', 'version'],
  },
  uniq: {
    valueShort: 'fsw', flagShort: 'cdDiuz', outputOperand: 1,
    valueLong: ['skip-fields', 'skip-chars', 'check-chars'], flagLong: ['count', 'repeated', 'all-repeated', 'ignore-case', 'unique', 'zero-terminated', 'group', 'help', 'version'],
  },
};

export const SCRIPT_RUNNERS: Readonly<Record<string, ScriptRunnerSpec>> = {
  make: { stdin: 'never' }, gmake: { stdin: 'never' }, bmake: { stdin: 'never' },
  'run-parts': { stdin: 'never' },
  m4: { stdin: 'without-operand' },
  dc: { codeOptions: ['-e', '--expression'], stdin: 'without-operand' },
  ed: { stdin: 'always' },
  sqlite3: { codeOptions: ['-cmd', '-init'], codeOperandsFrom: 1, stdin: 'without-operand' },
  at: { stdin: 'always' }, batch: { stdin: 'always' },
};

const SUDO_VALUE_LONG = ['user', 'group', 'host', 'prompt', 'chdir', 'close-from', 'role', 'type', 'other-user', 'command-timeout', 'chroot'];

export const WRAPPERS: Readonly<Record<string, WrapperSpec>> = {
  command: { flagShort: 'pvV', noCommandOptions: ['-v', '-V'] },
  builtin: {},
  exec: { valueShort: 'a', flagShort: 'cl' },
  // `time` and `coproc` are reserved words: what follows is a simple command, assignments first (`time A=1 rm`).
  nice: { valueShort: 'n', valueLong: ['adjustment'], numericOption: true },
  nohup: {},
  coproc: { assignments: true },
  busybox: {},
  time: { flagShort: 'p', assignments: true },
  setsid: { flagShort: 'cfw', flagLong: ['ctty', 'fork', 'wait'] },
  timeout: { valueShort: 'sk', flagShort: 'v', valueLong: ['signal', 'kill-after'], flagLong: ['preserve-status', 'foreground', 'verbose'], positional: 1 },
  env: {
    valueShort: 'uC', flagShort: 'i0v', valueLong: ['unset', 'chdir', 'block-signal', 'default-signal', 'ignore-signal'],
    flagLong: ['ignore-environment', 'null', 'debug', 'list-signal-handling'], assignments: true, loneDash: '-i',
    // -S / --split-string: its value is split into a command line at run time.
    codeOptions: ['-S', '--split-string'],
  },
  ionice: { valueShort: 'cnpPu', flagShort: 't', valueLong: ['class', 'classdata', 'pid', 'pgid', 'uid'], flagLong: ['ignore'], noCommandOptions: ['-p', '-P', '-u', '--pid', '--pgid', '--uid'] },
  stdbuf: { valueShort: 'ioe', valueLong: ['input', 'output', 'error'] },
  chroot: { valueLong: ['userspec', 'groups'], flagLong: ['skip-chdir'], positional: 1, shellWithoutCommand: true },
  taskset: { flagShort: 'acp', flagLong: ['all-tasks', 'cpu-list', 'pid'], positional: 1, noCommandOptions: ['-p', '--pid'] },
  chrt: { flagShort: 'bdfiormpvaRe', valueShort: 'TPD', positional: 1, noCommandOptions: ['-p', '--pid'] },
  flock: {
    valueShort: 'wEc', flagShort: 'sxunoF', valueLong: ['timeout', 'conflict-exit-code', 'command'], flagLong: ['shared', 'exclusive', 'unlock', 'nonblock', 'close', 'no-fork', 'verbose'], positional: 1,
    codeOptions: ['-c', '--command'], codeAfterPositional: ['-c', '--command'],
  },
  'ssh-agent': { valueShort: 'aEOPt', flagShort: 'cDdksT', noCommandOptions: ['-k'] },
  'xvfb-run': {
    valueShort: 'efnpsw', flagShort: 'adlh', valueLong: ['error-file', 'auth-file', 'server-num', 'xauth-protocol', 'server-args', 'wait'],
    flagLong: ['auto-servernum', 'auto-display', 'listen-tcp', 'help'],
  },
  sudo: {
    valueShort: 'ughpCDrtUTR', flagShort: 'AbEHkKnPSBNsie', valueLong: SUDO_VALUE_LONG,
    flagLong: ['askpass', 'background', 'preserve-env', 'set-home', 'reset-timestamp', 'remove-timestamp', 'non-interactive', 'preserve-groups', 'stdin', 'bell', 'no-update', 'shell', 'login', 'edit'],
    shellWithoutCommand: ['-s', '-i', '--shell', '--login'], shellRunsCommand: ['-s', '-i', '--shell', '--login'],
    // `sudo VAR=value cmd` sets variables for the command; `sudo -e F` edits F as root.
    assignments: true, edits: ['-e', '--edit'],
  },
  sudoedit: { valueShort: 'ughpCDrtUTR', flagShort: 'AbknNS', valueLong: SUDO_VALUE_LONG, flagLong: ['askpass', 'background', 'reset-timestamp', 'remove-timestamp', 'non-interactive', 'stdin', 'bell'], edits: true },
  // pkexec PROGRAM runs it as root; with no program, root's shell.
  pkexec: { valueLong: ['user'], flagLong: ['disable-internal-agent', 'keep-cwd'], shellWithoutCommand: true },
  nsenter: {
    valueShort: 'tSGW', flagShort: 'muinpUCTrwaFZec', valueLong: ['target', 'setuid', 'setgid', 'wdns'],
    flagLong: ['all', 'mount', 'uts', 'ipc', 'net', 'pid', 'user', 'cgroup', 'time', 'root', 'wd', 'no-fork', 'preserve-credentials', 'follow-context', 'env', 'join-cgroup'], shellWithoutCommand: true,
  },
  unshare: {
    valueShort: 'RwSGl', flagShort: 'muinpUCTfrc', valueLong: ['root', 'wd', 'setuid', 'setgid', 'propagation', 'setgroups', 'map-user', 'map-group', 'map-users', 'map-groups', 'monotonic', 'boottime'],
    flagLong: ['mount', 'uts', 'ipc', 'net', 'pid', 'user', 'cgroup', 'time', 'fork', 'map-root-user', 'map-current-user', 'map-auto', 'kill-child', 'mount-proc', 'keep-caps'], shellWithoutCommand: true,
  },
  setpriv: {
    flagShort: 'dL', valueLong: ['reuid', 'regid', 'ruid', 'rgid', 'euid', 'egid', 'groups', 'inh-caps', 'ambient-caps', 'bounding-set', 'securebits', 'pdeathsig', 'selinux-label', 'apparmor-profile', 'landlock-access', 'landlock-rule'],
    flagLong: ['clear-groups', 'init-groups', 'keep-groups', 'nnp', 'no-new-privs', 'reset-env', 'dump', 'list-caps'], noCommandOptions: ['-d', '-L', '--dump', '--list-caps'],
  },
  gosu: { positional: 1 },
  'su-exec': { positional: 1 },
  // script [FILE] starts a shell; -c runs shell code.
  script: {
    valueShort: 'cEIOBTmo', flagShort: 'aefq', valueLong: ['command', 'echo', 'log-in', 'log-out', 'log-io', 'log-timing', 'logging-format', 'output-limit'],
    flagLong: ['append', 'return', 'flush', 'force', 'quiet'], codeOptions: ['-c', '--command'], positional: 1, shellWithoutCommand: true,
  },
  'systemd-run': {
    valueShort: 'upEHM', flagShort: 'tPqGdrS', shellWithoutCommand: ['-S', '--shell'],
    valueLong: ['unit', 'property', 'setenv', 'host', 'machine', 'uid', 'gid', 'nice', 'working-directory', 'description', 'slice', 'service-type', 'on-active', 'on-boot', 'on-startup', 'on-unit-active', 'on-unit-inactive', 'on-calendar', 'timer-property', 'path-property', 'socket-property'],
    flagLong: ['user', 'system', 'scope', 'pty', 'pipe', 'quiet', 'wait', 'collect', 'same-dir', 'remain-after-exit', 'no-block', 'no-ask-password', 'shell', 'send-sighup', 'slice-inherit'],
  },
  fakeroot: { valueShort: 'lsib', flagShort: 'u', valueLong: ['lib', 'faked'], flagLong: ['unknown-is-real'], shellWithoutCommand: true },
  eatmydata: {},
  nocache: {},
  chronic: { flagShort: 'evb' },
  ifne: { flagShort: 'n' },
  linux32: { flagShort: 'RFZLXBITSv3' },
  linux64: { flagShort: 'RFZLXBITSv3' },
  doas: { valueShort: 'uC', flagShort: 'ns', shellWithoutCommand: ['-s'] },
  su: {
    valueShort: 'cgGsw', flagShort: 'lmpfP', valueLong: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment'],
    flagLong: ['login', 'preserve-environment', 'pty', 'fast'], positional: 1, codeOptions: ['-c', '--command', '--session-command'], shellWithoutCommand: true,
    permutesOptions: true, shellOptions: ['-s', '--shell'],
  },
  // runuser -u USER CMD runs CMD; without -u it is su (`runuser USER` starts USER's shell): see analyzeWrapper.
  runuser: {
    valueShort: 'ugGcsw', flagShort: 'lmpfP', valueLong: ['user', 'group', 'supp-group', 'command', 'session-command', 'shell', 'whitelist-environment'], flagLong: ['login', 'preserve-environment', 'pty', 'fast'],
    codeOptions: ['-c', '--command', '--session-command'], shellOptions: ['-s', '--shell'],
  },
  xargs: {
    valueShort: 'aEeIiLlnPsd', flagShort: '0oprtx', valueLong: ['arg-file', 'delimiter', 'eof', 'replace', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
    flagLong: ['null', 'open-tty', 'interactive', 'no-run-if-empty', 'verbose', 'exit', 'show-limits'], argumentsFromStdin: true,
  },
  watch: { valueShort: 'dnq', flagShort: 'bcegptwx', valueLong: ['differences', 'interval', 'equexit'], flagLong: ['beep', 'color', 'chgexit', 'errexit', 'precise', 'no-title', 'no-wrap', 'exec'], operandsAreShellCode: true },
  sg: { positional: 1, operandsAreShellCode: true, commandFlag: '-c' },
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
  /** Its options are words this spec does not describe: any option makes the line opaque. */
  wordOptionsOpaque?: boolean;
}

/**
 * Options of ordinary programs whose value is a command they run or configuration that can name
 * one (`tar --to-command`, `git -c core.pager=...`, `ssh -o ProxyCommand=...`, `vim -c '!...'`): the
 * line is opaque. Long options also match their GNU abbreviations; a short one matches anywhere in a
 * cluster; `+` stands for an editor's `+COMMAND` argument, `+!` for one that holds a `!` or `|`.
 */
export const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  tar: ['--to-command', '--use-compress-program', '-I', '--checkpoint-action', '--info-script', '--new-volume-script', '-F', '--rsh-command', '--rmt-command'],
  git: ['-c', '--config-env', '--exec-path', '--upload-pack', '--receive-pack', '--exec', '--extcmd', '--tool'],
  ssh: ['-o', '-F'],
  scp: ['-o', '-F', '-S'],
  sftp: ['-o', '-F', '-S', '-D'],
  rsync: ['-e', '--rsh', '--rsync-path'],
  // sort pipes its temporary files through --compress-program; split --filter gives each piece to a shell.
  sort: ['--compress-program'], split: ['--filter'], sdiff: ['--diff-program'], diff3: ['--diff-program'],
  wget: ['--use-askpass', '-e', '--execute'], cpio: ['--rsh-command'], gpg: ['--photo-viewer', '--exec-path'], gpg2: ['--photo-viewer', '--exec-path'],
  nc: ['-e', '-c'], netcat: ['-e', '-c'], 'nc.traditional': ['-e', '-c'], ncat: ['-e', '--exec', '-c', '--sh-exec', '--lua-exec'],
  vim: ['-c', '--cmd', '-S', '+'], vi: ['-c', '--cmd', '-S', '+'], nvim: ['-c', '--cmd', '-S', '+'], view: ['-c', '--cmd', '-S', '+'], ex: ['-c', '--cmd', '-S', '+'], vimdiff: ['-c', '--cmd', '-S', '+'],
  // less +!CMD / +|CMD: an initial command that is a shell escape.
  less: ['+!'], more: ['+!'],
  man: ['-P', '--pager', '-H', '--html'],
  zip: ['-T', '-TT', '--unzip-command'],
};

const POSIX_SHELL: InterpreterSpec = {
  flagShort: 'abcefhiklmnprstuvxBCEHPT', valueShort: 'oO', valueLong: ['rcfile', 'init-file'],
  flagLong: ['login', 'noprofile', 'norc', 'posix', 'restricted', 'verbose', 'noediting', 'debugger', 'dump-strings', 'dump-po-strings', 'pretty-print'],
  codeFromOperandOptions: ['-c'], interactiveOptions: ['-i', '-s'],
};

/** POSIX-like shells: their code (`-c`) is read like the line itself. */
export const SHELLS: readonly string[] = ['sh', 'bash', 'rbash', 'dash', 'ash', 'zsh', 'ksh', 'ksh93', 'mksh', 'lksh', 'pdksh', 'yash', 'posh'];
const VALUE_CODE_SHELLS = ['fish', 'csh', 'tcsh', 'nu', 'elvish', 'xonsh', 'pwsh', 'powershell'];

const PYTHON: InterpreterSpec = { flagShort: 'bBdEhiIOqsSuvVxPR', valueShort: 'WXQ', codeOptions: ['-c'], scriptOptions: ['-m'], interactiveOptions: ['-i'] };
// perl -i[ext], -l[oct], -0[oct], -x[dir], -C[n], -d[:mod], -D[n], -M/-m/-F take only an attached value
// (`perl -pi -e CODE` is -p, -i, then -e CODE); ruby's -W[n], -x[dir], -T[n], -K[c], -0[oct], -F likewise.
const PERL: InterpreterSpec = { flagShort: 'acfnpsStTuUvwWX', valueShort: 'I', optionalValueShort: 'MmxCdDiF0l', codeOptions: ['-e', '-E'] };
const RUBY: InterpreterSpec = { flagShort: 'acdlnpsSvwyU', valueShort: 'rIEC', optionalValueShort: 'FWTxK0', codeOptions: ['-e'] };
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
  // PowerShell's parameters are words, abbreviated at will (-c, -Command, -ec, -EncodedCommand): any is opaque.
  if (program === 'pwsh' || program === 'powershell') return { wordOptionsOpaque: true };
  if (VALUE_CODE_SHELLS.includes(program)) return { ...POSIX_SHELL, codeFromOperandOptions: [], codeOptions: ['-c', '--command'] };
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
  // Not builtins, but what they run is out of the line's reach all the same.
  parallel: 'parallel builds the commands it runs at run time',
  tmux: 'tmux runs shell commands in sessions it starts or controls',
  screen: 'screen runs shell commands in sessions it starts or controls',
  crontab: 'crontab installs commands that run later',
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
