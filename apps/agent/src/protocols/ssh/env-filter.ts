/**
 * Which environment variables a client's `env` requests (`ssh -o SetEnv=...`, `SendEnv`) may pass to the
 * target. The target's sshd has its own `AcceptEnv`, but through the gateway a workload must not be able
 * to change what a decided command runs: `BASH_ENV` makes bash source a file before the command,
 * `LD_PRELOAD` loads a library into it, `PATH` picks another `rm`, `PS4`/`PROMPT_COMMAND` run code, and
 * policy sees none of it. So a variable is passed only when the resource accepts its name (an allow-list
 * like sshd's `AcceptEnv`, default the locale and time zone) and it is not one of those that change what
 * runs, whatever the list says.
 */

/** What a resource accepts unless its `ssh.acceptEnv` says otherwise: locale, time zone, colours. */
export const DEFAULT_ACCEPT_ENV: readonly string[] = ['LANG', 'LANGUAGE', 'LC_*', 'TZ', 'COLORTERM', 'NO_COLOR'];

/** A variable name as shells take it; anything else (`BASH_FUNC_f%%`, a function export) is refused. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names that make a shell or a program run other code, never passed (an `acceptEnv` of `*` included). */
const NEVER = new Set([
  'BASH_ENV', 'ENV', 'PATH', 'IFS', 'PS4', 'PROMPT_COMMAND', 'SHELLOPTS', 'BASHOPTS', 'CDPATH', 'GLOBIGNORE', 'SHELL', 'HOME',
  'EDITOR', 'VISUAL', 'PAGER', 'MANPAGER', 'GIT_PAGER', 'LESSOPEN', 'LESSCLOSE', 'SSH_ASKPASS', 'SUDO_ASKPASS', 'TMPDIR',
  'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'RESOLV_HOST_CONF', 'NODE_OPTIONS', 'NODE_PATH',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONINSPECT', 'RUBYOPT', 'RUBYLIB',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_EXEC_PATH', 'GIT_CONFIG_PARAMETERS',
]);
const NEVER_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_', 'MALLOC_', 'GIT_CONFIG_'];

/** Why `name` is not passed to the target, or undefined when it is. */
export function envRefusal(name: string, accepted: readonly string[]): string | undefined {
  if (!NAME.test(name)) return `"${name.slice(0, 64)}" is not a variable name`;
  const upper = name.toUpperCase();
  if (NEVER.has(upper) || NEVER_PREFIXES.some((p) => upper.startsWith(p))) return `${name} changes what the command runs`;
  const allowed = accepted.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
  return allowed ? undefined : `${name} is not in the resource's ssh.acceptEnv`;
}
