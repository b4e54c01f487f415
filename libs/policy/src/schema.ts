/**
 * The Cedar schema every gateway policy is validated against (strict mode). A copy lives in
 * `libs/policy/gateway.cedarschema` for editors and the Cedar CLI; a test keeps the two identical.
 *
 * Design notes:
 * - One context type for all actions; attributes that only some action families send are optional,
 *   so strict validation forces policies to test them with `context has x` before use.
 * - Resource labels are Cedar entity tags (`resource.hasTag("env") && resource.getTag("env") == "prod"`).
 * - `principal.process` is the verified process (run, pod, SPIFFE workload) when one was proven; its
 *   fields are those of `@gw/identity`'s PROCESS_FIELDS: `principal has process && principal.process has
 *   ref && principal.process.ref == "refs/heads/main"`.
 * - The token's `groups` claim becomes membership in `Group` entities: `principal in Gateway::Group::"<id>"`.
 */
export const CEDAR_SCHEMA = `namespace Gateway {
  entity Group;

  type Process = {
    platform: String,
    issuer: String,
    subject: String,
    source: String,
    token_id?: String,
    repository?: String,
    repository_owner?: String,
    ref?: String,
    ref_type?: String,
    workflow?: String,
    workflow_ref?: String,
    job_workflow_ref?: String,
    run_id?: String,
    run_attempt?: String,
    commit?: String,
    environment?: String,
    actor?: String,
    event_name?: String,
    project_path?: String,
    pipeline_id?: String,
    job_id?: String,
    namespace?: String,
    service_account?: String,
    service_account_uid?: String,
    pod_name?: String,
    pod_uid?: String,
    node_name?: String,
    spiffe_id?: String,
    trust_domain?: String,
    managed_identity?: String,
    agent_id?: String,
    agent_blueprint_id?: String,
  };

  entity Principal in [Group] {
    kind: String,
    issuer: String,
    tenantId?: String,
    appId?: String,
    displayName?: String,
    roles: Set<String>,
    gatewayRoles: Set<String>,
    process?: Process,
  };

  entity Resource {
    "type": String,
    name: String,
    environment: String,
  } tags String;

  type RequestContext = {
    sourceIp: String,
    hasGrant: Bool,
    hour: Long,
    statementKind?: String,
    tables?: Set<String>,
    tablesWritten?: Set<String>,
    functions?: Set<String>,
    readOnly?: Bool,
    dbRole?: String,
    login?: String,
    command?: String,
    programs?: Set<String>,
    programPaths?: Set<String>,
    flags?: Set<String>,
    writesFiles?: Set<String>,
    dynamicArgs?: Set<String>,
    opaque?: Bool,
    interpreter?: Bool,
    shell?: Bool,
    pty?: Bool,
    host?: String,
    port?: Long,
    namespace?: String,
    kind?: String,
    name?: String,
    via?: String,
    tool?: String,
    apiGroup?: String,
    apiVersion?: String,
    apiResource?: String,
    subresource?: String,
    path?: String,
    nonResource?: Bool,
    objectLabels?: Set<String>,
    container?: String,
    toolReadOnly?: Bool,
    toolDestructive?: Bool,
    arguments?: String,
    argumentNames?: Set<String>,
    uri?: String,
    prompt?: String,
  };

  action "sql", "ssh", "k8s", "mcp";
  action "sql:read", "sql:write" in ["sql"];
  action "k8s:read", "k8s:write" in ["k8s"];

  action "connect", "request_access"
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };

  action "sql:select", "sql:session" in ["sql", "sql:read"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "sql:insert", "sql:update", "sql:delete" in ["sql", "sql:write"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "sql:ddl", "sql:admin", "sql:procedural" in ["sql"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };

  action "ssh:shell", "ssh:exec", "ssh:sftp", "ssh:forward" in ["ssh"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };

  action "k8s:get", "k8s:list", "k8s:watch" in ["k8s", "k8s:read"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "k8s:create", "k8s:update", "k8s:patch", "k8s:delete", "k8s:deletecollection" in ["k8s", "k8s:write"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "k8s:exec", "k8s:attach", "k8s:portforward", "k8s:proxy", "k8s:issue_credential", "k8s:run_privileged" in ["k8s"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "mcp:call_tool", "mcp:read_resource", "mcp:get_prompt" in ["mcp"]
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
  action "mcp:sampling", "mcp:elicitation", "mcp:roots"
    appliesTo { principal: [Principal], resource: [Resource], context: RequestContext };
}
`;

export const CEDAR_NAMESPACE = 'Gateway';
export const PRINCIPAL_TYPE = 'Gateway::Principal';
export const GROUP_TYPE = 'Gateway::Group';
export const RESOURCE_TYPE = 'Gateway::Resource';
export const ACTION_TYPE = 'Gateway::Action';
