import { describe, expect, it } from 'vitest';
import { privilegeRefusal, type ReachableRole } from './role-privileges.js';

const role = (path: string[], predefined = false, attributes: ReachableRole['attributes'] = []): ReachableRole => ({ path, predefined, attributes });

describe('which requested roles the agent refuses', () => {
  it.each([
    ['an ordinary role', [role(['app'])], undefined],
    ['an ordinary role in ordinary roles', [role(['app']), role(['app', 'readers'])], undefined],
    ['a predefined role', [role(['pg_monitor'], true)], /role "pg_monitor" is privileged \(a predefined role\)/],
    ['CREATEDB', [role(['app'], false, ['CREATEDB'])], /role "app" is privileged \(has CREATEDB\)/],
    ['a member of a predefined role, two levels', [role(['app']), role(['app', 'ops']), role(['app', 'ops', 'pg_read_server_files'], true)], /can assume "pg_read_server_files" \(a predefined role\) through membership "app" -> "ops" -> "pg_read_server_files"/],
    ['a member of a BYPASSRLS role', [role(['app']), role(['app', 'etl'], false, ['BYPASSRLS', 'REPLICATION'])], /can assume "etl" \(has REPLICATION, BYPASSRLS\)|can assume "etl" \(has BYPASSRLS, REPLICATION\)/],
    ['a superuser', [role(['root'], false, ['SUPERUSER'])], /role "root" is a superuser/],
  ] as const)('%s', (_name, reach, expected) => {
    const refusal = privilegeRefusal(reach[0].path[0]!, reach, new Set());
    if (expected === undefined) expect(refusal).toBeUndefined();
    else expect(refusal).toMatch(expected);
  });

  it('a listed role is accepted whatever it reaches, except a superuser', () => {
    const reach = [role(['ops'], false, ['CREATEROLE']), role(['ops', 'pg_monitor'], true)];
    expect(privilegeRefusal('ops', reach, new Set(['ops']))).toBeUndefined();
    expect(privilegeRefusal('ops', reach, new Set(['pg_monitor']))).toMatch(/has CREATEROLE/);
    expect(privilegeRefusal('root', [role(['root'], false, ['SUPERUSER'])], new Set(['root']))).toMatch(/superuser/);
  });
});
