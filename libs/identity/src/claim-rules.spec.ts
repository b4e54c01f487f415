import { describe, expect, it } from 'vitest';
import { ClaimRuleSyntaxError, evaluateClaimRule, parseClaimRule } from './claim-rules.js';
import { parseIssuersConfig } from './issuer-config.js';
import { IdentityConfigError } from './config-error.js';

const claims = { repository: 'acme/deploy', ref: 'refs/heads/main', run_id: 42, groups: ['a', 'b'], nested: { env: 'prod' } };
const holds = (rule: string, extra: Partial<Parameters<typeof evaluateClaimRule>[1]> = {}) => evaluateClaimRule(parseClaimRule(rule), { claims, ...extra });

describe('claim rules', () => {
  it('compares with == != in matches, joined by && || and, or, not, parentheses', () => {
    expect(holds('repository == "acme/deploy" && ref == "refs/heads/main"')).toBe(true);
    expect(holds('repository == "acme/deploy" and ref == "refs/heads/dev"')).toBe(false);
    expect(holds('ref == "x" || run_id == "42"')).toBe(true);
    expect(holds('repository in ["acme/a", "acme/deploy"]')).toBe(true);
    expect(holds('ref matches "refs/heads/*"')).toBe(true);
    expect(holds('repository matches "acme/dep.oy"')).toBe(false);
    expect(holds('!(ref == "refs/heads/main")')).toBe(false);
    expect(holds('not ref != "refs/heads/main"')).toBe(true);
    expect(holds('nested.env == "prod"')).toBe(true);
    expect(holds('groups == "b"')).toBe(true);
  });

  it('a missing claim makes every comparison false, != included', () => {
    expect(holds('environment == "prod"')).toBe(false);
    expect(holds('environment != "prod"')).toBe(false);
    expect(holds('nested.env.deeper == "x"')).toBe(false);
  });

  it('reads the process record and the presenting principal by prefix', () => {
    expect(holds('process.pod_uid == "p1" && principal.appId == "app"', { process: { pod_uid: 'p1' }, principal: { appId: 'app' } })).toBe(true);
    expect(holds('principal.appId == "app"')).toBe(false);
  });

  it('refuses bad syntax with a reason', () => {
    for (const bad of ['', 'repository', 'repository == acme', 'repository == "x" &&', '(ref == "x"', 'ref = "x"', 'ref == "unterminated', 'ref in []', 'ref == "\\n"']) {
      expect(() => parseClaimRule(bad), bad).toThrow(ClaimRuleSyntaxError);
    }
  });

  it('a bad rule in OIDC_ISSUERS stops the configuration with the variable name', () => {
    expect(() => parseIssuersConfig([{ issuer: 'http://127.0.0.1:1', audience: 'a', kind: 'github-actions', roleRules: [{ when: 'ref ==', roles: ['requester'] }] }])).toThrow(IdentityConfigError);
    expect(() => parseIssuersConfig([{ issuer: 'http://127.0.0.1:1', audience: 'a', kind: 'jenkins' }])).toThrow(/OIDC_ISSUERS/);
    expect(parseIssuersConfig([{ issuer: 'http://127.0.0.1:1', audience: 'a' }])[0]!.kind).toBe('entra');
  });
});
