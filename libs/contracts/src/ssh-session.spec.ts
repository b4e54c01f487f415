import { describe, expect, it } from 'vitest';
import { parseSshUsername } from './ssh-session.js';

describe('parseSshUsername', () => {
  it('splits <login>@<resource> at the last @', () => {
    expect(parseSshUsername('deploy@web-1.prod')).toEqual({ login: 'deploy', resource: 'web-1.prod' });
    expect(parseSshUsername('svc_backup@db')).toEqual({ login: 'svc_backup', resource: 'db' });
  });

  it('refuses what is not a login and a resource name', () => {
    for (const bad of ['deploy', '@box', 'deploy@', 'deploy@Box', 'a@b@c', 'de ploy@box', '-oProxyCommand@box', `${'x'.repeat(33)}@box`, 'root@box;id']) {
      expect(parseSshUsername(bad), bad).toBeUndefined();
    }
  });
});
