import { describe, expect, it } from 'vitest';
import { DEFAULT_ACCEPT_ENV, envRefusal } from './env-filter.js';

describe('envRefusal', () => {
  it('passes the locale, time zone and colour variables by default, and nothing else', () => {
    for (const name of ['LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'COLORTERM', 'NO_COLOR']) expect(envRefusal(name, DEFAULT_ACCEPT_ENV)).toBeUndefined();
    expect(envRefusal('GW_COLOR', DEFAULT_ACCEPT_ENV)).toBe("GW_COLOR is not in the resource's ssh.acceptEnv");
    expect(envRefusal('LCX', DEFAULT_ACCEPT_ENV)).toBe("LCX is not in the resource's ssh.acceptEnv");
  });

  it('matches names exactly or by a prefix ending in *', () => {
    expect(envRefusal('APP_MODE', ['APP_*'])).toBeUndefined();
    expect(envRefusal('APP', ['APP_*'])).toBeDefined();
    expect(envRefusal('APP_MODE', ['APP_MOD'])).toBeDefined();
  });

  it('never passes what changes what runs, even when the list says * or names it', () => {
    for (const name of ['BASH_ENV', 'ENV', 'PATH', 'IFS', 'PS4', 'PROMPT_COMMAND', 'SHELLOPTS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'ld_preload', 'BASH_FUNC_ls', 'NODE_OPTIONS', 'PYTHONSTARTUP', 'PERL5OPT', 'GIT_SSH_COMMAND', 'GIT_CONFIG_COUNT', 'PAGER', 'GCONV_PATH']) {
      expect(envRefusal(name, ['*', name])).toBe(`${name} changes what the command runs`);
    }
    expect(envRefusal('APP_MODE', ['*'])).toBeUndefined();
  });

  it('refuses names a shell would not take as a variable (exported functions, odd bytes)', () => {
    expect(envRefusal('BASH_FUNC_ls%%', ['*'])).toBe('"BASH_FUNC_ls%%" is not a variable name');
    expect(envRefusal('A B', ['*'])).toBeDefined();
    expect(envRefusal('', ['*'])).toBeDefined();
    expect(envRefusal('1X', ['*'])).toBeDefined();
  });
});
