import { describe, expect, it } from 'vitest';
import { DEMO_POLICY } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import { PolicyValidationError } from './errors.js';
import { validatePolicySet } from './validate.js';

function errorsOf(text: string): { policyId?: string; message: string }[] {
  const result = validatePolicySet(text);
  if (result.ok) throw new Error('expected the policy set to be refused');
  return result.errors;
}

const OK = `@id("ok") permit (principal, action == Gateway::Action::"connect", resource);`;

describe('validatePolicySet', () => {
  it('accepts the demo policy and lists its policies in source order with lines', () => {
    const result = validatePolicySet(DEMO_POLICY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policies.map((p) => p.id)).toEqual([
      'admin-all',
      'requester-postgres-connect',
      'requester-postgres-read',
      'requester-postgres-write-nonprod',
      'requester-postgres-write-prod',
      'requester-no-ddl-or-admin',
      'requester-tcp-demo',
      'requester-access-dev',
      'requester-access-prod',
      'requester-ssh-connect',
      'requester-ssh-sftp',
      'requester-ssh-exec-allowed-programs',
      'requester-ssh-sudo-approval',
      'requester-ssh-interpreter-approval',
      'requester-ssh-no-destructive',
      'requester-ssh-no-destructive-options',
      'requester-ssh-no-file-writes',
      'requester-ssh-scp-server-only',
      'requester-ssh-no-terminal',
      'requester-ssh-no-opaque',
      'requester-k8s-connect',
      'requester-k8s-read',
      'requester-k8s-write-default',
      'requester-k8s-no-credentials',
      'requester-k8s-no-privileged-pods',
      'requester-k8s-no-rbac-writes',
      'requester-k8s-delete-approval',
      'requester-k8s-exec-default',
      'requester-k8s-exec-prod-approval',
      'requester-mcp-connect',
      'requester-mcp-read',
      'requester-mcp-write-approval',
      'requester-mcp-no-move',
    ]);
    expect(result.policies[0]?.line).toBe(2);
    expect(result.policies.find((p) => p.id === 'requester-no-ddl-or-admin')?.effect).toBe('forbid');
  });

  it('keeps source order beyond ten policies (Cedar itself sorts by internal id)', () => {
    const text = Array.from({ length: 12 }, (_, i) => `@id("p${i}") permit (principal, action, resource);`).join('\n');
    const result = validatePolicySet(text);
    expect(result.ok && result.policies.map((p) => [p.id, p.line])).toEqual(
      Array.from({ length: 12 }, (_, i) => [`p${i}`, i + 1]),
    );
  });

  it.each([
    ['syntax error with its location', `${OK}\n@id("x") permit (principal, action, resource) when { 1 + };`, /syntax error at line 2, column \d+: .*unexpected token/],
    ['unknown action', `@id("x") permit (principal, action == Gateway::Action::"sql:drop", resource);`, /policy "x" at line 1.*sql:drop/],
    ['unknown entity attribute', `@id("x") permit (principal, action, resource) when { principal.department == "it" };`, /attribute `department` on entity type `Gateway::Principal` not found/],
    ['wrong type', `@id("x") permit (principal, action, resource) when { context.hour == "noon" };`, /Long and String are not compatible/],
    ['optional context attribute used without has', `@id("x") permit (principal, action, resource) when { context.tables.contains("t") };`, /optional attribute `tables`/],
    ['tag read without hasTag', `@id("x") permit (principal, action, resource) when { resource.getTag("env") == "prod" };`, /tag `"env"`/],
    ['unknown entity type', `@id("x") permit (principal in Gateway::Team::"a", action, resource);`, /Gateway::Team/],
    ['missing @id', `permit (principal, action, resource);`, /policy at line 1: missing @id/],
    ['duplicate @id', `${OK}\n${OK}`, /policy "ok" \(line 2\): duplicate @id, already used at line 1/],
    ['invalid @id', `@id("has space") permit (principal, action, resource);`, /not a valid id/],
    ['unknown annotation', `@id("x") @maks("email:full") permit (principal, action, resource);`, /unknown annotation @maks/],
    ['permit-only annotation on forbid', `@id("x") @mask("email:full") forbid (principal, action, resource);`, /@mask has no meaning on a forbid/],
    ['bad mask entity', `@id("x") @mask("passport:full") permit (principal, action, resource);`, /@mask: unknown mask entity "passport"/],
    ['@approval_view without @approval', `@id("x") @approval_view("masked") permit (principal, action, resource);`, /@approval_view needs @approval\("required"\)/],
    ['bad @approval_view', `@id("x") @approval("required") @approval_view("hidden") permit (principal, action, resource);`, /@approval_view must be "unmasked" or "masked", not "hidden"/],
    ['@approval_view spelt in capitals', `@id("x") @approval("required") @approval_view("MASKED") permit (principal, action, resource);`, /@approval_view must be/],
    ['@approval_view on forbid', `@id("x") @approval_view("masked") forbid (principal, action, resource);`, /@approval_view has no meaning on a forbid/],
    ['bad mask style', `@id("x") @mask("email:blur") permit (principal, action, resource);`, /unknown mask style "blur"/],
    ['bad column reference', `@id("x") @mask_columns("a.b.c.d:full") permit (principal, action, resource);`, /@mask_columns: "a.b.c.d" is not a column reference/],
    ['bad duration', `@id("x") @max_session("1 hour") permit (principal, action, resource);`, /@max_session: "1 hour" is not a duration/],
    ['duration out of range', `@id("x") @max_session("30d") permit (principal, action, resource);`, /@max_session: "30d" is out of range/],
    ['bad approvals', `@id("x") @approval("required") @approvals("0") permit (principal, action, resource);`, /@approvals must be a whole number from 1 to 10/],
    ['approvals without approval', `@id("x") @approvals("2") permit (principal, action, resource);`, /@approvals needs @approval\("required"\)/],
    ['bad approval value', `@id("x") @approval("maybe") permit (principal, action, resource);`, /@approval must be "required"/],
    ['bad approver', `@id("x") @approval("required") @approvers("user:bob") permit (principal, action, resource);`, /"user:bob" is not an approver/],
    ['approver role that cannot approve', `@id("x") @approval("required") @approvers("role:requester") permit (principal, action, resource);`, /"role:requester" is not an approver/],
    ['bad require_grant', `@id("x") @require_grant("yes") permit (principal, action, resource);`, /@require_grant must be "true" or "false"/],
    ['empty reason', `@id("x") @reason("  ") forbid (principal, action, resource);`, /@reason must be 1-500 characters/],
    ['templates', `@id("x") permit (principal == ?principal, action, resource);`, /templates .* are not supported/],
  ])('refuses a set with %s', (_name, text, message) => {
    const errors = errorsOf(text);
    expect(errors.map((e) => e.message).join('\n')).toMatch(message);
  });

  it('attributes errors to the policy id', () => {
    const errors = errorsOf(`${OK}\n@id("broken") permit (principal, action, resource) when { principal.nope };`);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.policyId).toBe('broken');
  });

  it('reports every problem, not only the first', () => {
    const errors = errorsOf(`@id("a") @mask("x:y") permit (principal, action, resource);
@id("b") permit (principal, action, resource) when { principal.nope };`);
    expect(errors.map((e) => e.policyId)).toEqual(['a', 'b']);
  });

  it('counts lines in characters when the text has multi-byte characters', () => {
    // Cedar reports UTF-8 byte offsets; "ééé" is 3 characters but 6 bytes.
    const errors = errorsOf(
      `// règle – ünïcode\n@id("x") @reason("ééé") permit (principal, action, resource) when { context.hour == "x" };`,
    );
    expect(errors[0]?.message).toMatch(/at line 2, column 69:/);
  });

  it('refuses oversized texts before parsing', () => {
    const errors = errorsOf(`// ${'x'.repeat(600 * 1024)}`);
    expect(errors[0]?.message).toMatch(/the limit is 524288/);
  });
});

describe('PolicyEngine.compile', () => {
  it('throws PolicyValidationError carrying the validator messages', () => {
    let caught: unknown;
    try {
      PolicyEngine.compile(`@id("x") permit (principal, action == Gateway::Action::"sql:drop", resource);`);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyValidationError);
    const error = caught as PolicyValidationError;
    expect(error.errors[0]?.policyId).toBe('x');
    expect(error.message).toMatch(/invalid policy set \(1 problem\).*sql:drop/);
  });
});
