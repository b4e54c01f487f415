import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';

describe('PolicyEngine.readsContext: whether a decision could depend on a context attribute', () => {
  it('is false for a set whose conditions never name it (comments do not count)', () => {
    const engine = PolicyEngine.compile(`
      // objectLabels are not read here
      @id("w") permit (principal, action == Gateway::Action::"k8s:create", resource) when { context has namespace && context.namespace == "default" };
    `);
    expect(engine.readsContext('objectLabels')).toBe(false);
    expect(engine.readsContext('namespace')).toBe(true);
  });

  it('is true however the attribute is written: dot, index, escapes in the name, in unless', () => {
    const forms = [
      'when { context has objectLabels && context.objectLabels.contains("privileged=true") }',
      'when { context has "objectLabels" && context["objectLabels"].contains("privileged=true") }',
      'when { context has "objectL\\u{61}bels" && context["objectL\\u{61}bels"].contains("privileged=true") }',
      'unless { context has objectLabels }',
    ];
    for (const condition of forms) {
      const text = `@id("no-privileged") forbid (principal, action, resource) ${condition};`;
      expect(PolicyEngine.compile(text).readsContext('objectLabels'), condition).toBe(true);
    }
  });

  it('the demo policy does not decide on object labels', () => {
    expect(PolicyEngine.compile(DEMO_POLICY).readsContext('objectLabels')).toBe(false);
  });
});
