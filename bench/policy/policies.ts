/**
 * A realistic policy set for the benchmark: the demo policy plus team, environment, time and
 * per-protocol rules, 30 policies in all.
 */
import { DEMO_POLICY } from '../../libs/policy/src/index.js';

const TEAMS = ['payments', 'search', 'growth', 'platform', 'data'];

function teamPolicies(team: string): string {
  return `
@id("${team}-read")
@mask("email:partial, card:full, ssn:full, phone:partial")
@mask_columns("public.customers.email:hash, *.phone:partial")
permit (principal in Gateway::Group::"grp-${team}", action in Gateway::Action::"sql:read", resource)
when { resource.hasTag("team") && resource.getTag("team") == "${team}" };

@id("${team}-write")
@approval("required") @approvals("2") @approvers("group:${team}-leads, role:approver") @approval_timeout("30m")
@max_session("2h")
permit (principal in Gateway::Group::"grp-${team}", action in Gateway::Action::"sql:write", resource)
when { resource.hasTag("team") && resource.getTag("team") == "${team}" && resource.environment == "prod" };

@id("${team}-k8s-read")
permit (principal in Gateway::Group::"grp-${team}", action in Gateway::Action::"k8s:read", resource)
when { context has namespace && context.namespace == "${team}" };

@id("${team}-ssh-exec")
@require_grant("true") @max_session("15m")
permit (principal in Gateway::Group::"grp-${team}", action == Gateway::Action::"ssh:exec", resource)
when { resource.hasTag("team") && resource.getTag("team") == "${team}" && context has command && !(context.command like "*rm -rf*") };
`;
}

const SHARED = `
@id("no-secrets") @reason("Kubernetes secrets are off limits")
forbid (principal, action in Gateway::Action::"k8s", resource) when { context has kind && context.kind == "Secret" };

@id("office-hours-prod-writes") @reason("production writes only 07:00-19:00 UTC")
forbid (principal, action in Gateway::Action::"sql:write", resource)
when { resource.environment == "prod" && (context.hour < 7 || context.hour >= 19) };

@id("no-pg-catalog-writes") @reason("system catalogs are read-only")
forbid (principal, action in Gateway::Action::"sql:write", resource)
when { context has tablesWritten && context.tablesWritten.containsAny(["pg_catalog.pg_authid", "pg_catalog.pg_class"]) };

@id("forward-db-ports")
permit (principal, action == Gateway::Action::"ssh:forward", resource)
when { principal.gatewayRoles.contains("requester") && context has port && [5432, 3306].contains(context.port) };

@id("tenant-fence") @reason("principals from foreign tenants are refused")
forbid (principal, action, resource) when { principal has tenantId && principal.tenantId != "t-home" };
`;

export const BENCH_POLICY = DEMO_POLICY + SHARED + TEAMS.map(teamPolicies).join('\n') + `
@id("auditor-read-only")
@mask("email:full, card:full, ssn:full, phone:full, iban:full, ip:full, jwt:full, cloud_key:full")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("auditor") };
`;

export const BENCH_TEAMS = TEAMS;
