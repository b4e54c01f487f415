import { describe, expect, it } from 'vitest';
import { classifyKind } from './claims.js';

const OID = 'f0e1d2c3-b4a5-4968-8776-655443322110';

describe('classifyKind', () => {
  it('trusts idtyp first', () => {
    expect(classifyKind({ idtyp: 'app', scp: 'x' }, undefined, undefined)).toBe('workload');
    expect(classifyKind({ idtyp: 'user', sub: OID }, 'app', OID)).toBe('human');
  });

  it('treats delegated tokens (scp) as human', () => {
    expect(classifyKind({ scp: 'user_impersonation', sub: OID }, 'app', OID)).toBe('human');
  });

  it('recognises Entra v1 app-only tokens by sub == oid with an app id and no scp', () => {
    expect(classifyKind({ sub: OID }, 'app-id', OID)).toBe('workload');
    expect(classifyKind({ sub: OID }, undefined, OID)).toBe('human');
  });

  it('recognises RFC 9068 client-credentials tokens by sub == client id', () => {
    expect(classifyKind({ sub: 'ci-pipeline' }, 'ci-pipeline', undefined)).toBe('workload');
    expect(classifyKind({ sub: 'someone' }, 'ci-pipeline', undefined)).toBe('human');
  });
});
