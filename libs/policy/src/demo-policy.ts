/**
 * The only login workloads may use on demo SSH hosts: the unprivileged system user that
 * `npm start` creates for its SSH demo target (tools/demo-login.mjs).
 */
export const DEMO_SSH_LOGIN = 'gw-demo';

/** The masks on everything the demo's workloads read: the same PII recognizers on every resource type. */
const PII_MASK = '@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")';

/** One human with the gateway role `approver` must agree within `timeout` (annotations, one a line). */
const oneApproval = (timeout: string): string =>
  ['@approval("required")', '@approvals("1")', '@approvers("role:approver")', `@approval_timeout("${timeout}")`].join('\n');

/**
 * The policy set the quick start activates. It doubles as a worked example of every annotation
 * (read it as the API serves it: the repeated mask and approval annotations are spelled once above).
 * - `admin` gateway role: everything.
 * - `requester` (AI agents and other workloads): connect to Postgres or MySQL as `demo_reader` or `demo_writer`
 *   and read with PII masked; writes
 *   need one approval on resources labelled env=prod; DDL and admin statements are forbidden; connect
 *   to TCP resources labelled `demo`.
 */
export const DEMO_POLICY = `// Security administrators may do everything.
@id("admin-all")
@reason("security administrators have full access")
permit (principal, action, resource)
when { principal.gatewayRoles.contains("admin") };

// Workloads may open Postgres sessions as the demo's application roles only (admins: any role the
// agent hands out); results are masked from the first row.
@id("requester-postgres-connect")
${PII_MASK}
@max_session("1h")
permit (principal, action == Gateway::Action::"connect", resource)
when {
  principal.gatewayRoles.contains("requester") && ["postgres", "mysql"].contains(resource.type) &&
  context has dbRole && ["demo_reader", "demo_writer"].contains(context.dbRole)
};

// Reads and session statements (SET, SHOW, BEGIN ...) with PII masked.
@id("requester-postgres-read")
${PII_MASK}
permit (principal, action in Gateway::Action::"sql:read", resource)
when { principal.gatewayRoles.contains("requester") && ["postgres", "mysql"].contains(resource.type) };

// Writes outside production go straight through.
@id("requester-postgres-write-nonprod")
${PII_MASK}
permit (principal, action in Gateway::Action::"sql:write", resource)
when {
  principal.gatewayRoles.contains("requester") &&
  ["postgres", "mysql"].contains(resource.type) &&
  !(resource.hasTag("env") && resource.getTag("env") == "prod")
};

// Writes in production wait for a human approver.
@id("requester-postgres-write-prod")
${PII_MASK}
${oneApproval('15m')}
permit (principal, action in Gateway::Action::"sql:write", resource)
when {
  principal.gatewayRoles.contains("requester") &&
  ["postgres", "mysql"].contains(resource.type) &&
  resource.hasTag("env") && resource.getTag("env") == "prod"
};

// Schema changes and administrative statements are never for workloads.
@id("requester-no-ddl-or-admin")
@reason("DDL and administrative statements are not allowed for workloads; ask a security administrator")
forbid (principal, action in [Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin"], resource)
when { principal.gatewayRoles.contains("requester") }
unless { principal.gatewayRoles.contains("admin") };

// Demo TCP services.
@id("requester-tcp-demo")
permit (principal, action == Gateway::Action::"connect", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "tcp" && resource.hasTag("demo")
};

// Just-in-time access (POST /api/v1/access-requests, action request_access): workloads get a grant on
// env=dev resources at once, for at most an hour; on env=prod one approver must agree first. Any
// other resource (no env label, or another env) is refused.
@id("requester-access-dev")
@max_session("1h")
permit (principal, action == Gateway::Action::"request_access", resource)
when {
  principal.gatewayRoles.contains("requester") &&
  resource.hasTag("env") && resource.getTag("env") == "dev"
};

@id("requester-access-prod")
${oneApproval('30m')}
permit (principal, action == Gateway::Action::"request_access", resource)
when {
  principal.gatewayRoles.contains("requester") &&
  resource.hasTag("env") && resource.getTag("env") == "prod"
};

// SSH: workloads run read-only commands and copy files on demo hosts, logged in only as the
// unprivileged demo login (never root, never the user running the gateway). The agent parses each command
// with a bash grammar and sends what it runs (context.programs, flags, writesFiles, opaque,
// interpreter: libs/policy/README.md); every program in it is checked. No interactive shell (an exec
// of an interpreter reading stdin or a terminal is decided as ssh:shell) and no port forwarding:
// nothing permits ssh:shell or ssh:forward for workloads, so both are denied. The recording of every
// command (its text, stdin, output; also a refused one, by the connect permit's @mask) is masked.
@id("requester-ssh-connect")
${PII_MASK}
@max_session("1h")
permit (principal, action == Gateway::Action::"connect", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "ssh" && resource.hasTag("demo") &&
  context has login && context.login == "${DEMO_SSH_LOGIN}"
};

// Copies (sftp, scp -t/-f) are decided and recorded but not masked (masking would corrupt them): a
// workload reads a file it copies in the clear. Deliberate: keep PII where the demo login cannot read it.
@id("requester-ssh-sftp")
permit (principal, action == Gateway::Action::"ssh:sftp", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" && resource.hasTag("demo") };

// An allow-list: commands made only of these programs, called by name, writing no file, run at once.
@id("requester-ssh-exec-allowed-programs")
${PII_MASK}
permit (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "ssh" && resource.hasTag("demo") &&
  context has programs && context has programPaths && context has writesFiles &&
  context.programPaths.isEmpty() &&
  ["uptime", "w", "who", "whoami", "id", "groups", "hostname", "uname", "date", "pwd", "cd", "echo", "printf",
   "true", "false", "test", "[", "sleep", "env", "ls", "cat", "head", "tail", "tac", "nl", "wc", "grep", "egrep", "fgrep",
   "sort", "uniq", "cut", "tr", "column", "seq", "basename", "dirname", "realpath", "readlink", "stat", "file",
   "which", "md5sum", "sha1sum", "sha256sum", "diff", "cmp", "df", "du", "free", "nproc", "lscpu", "ps", "find",
   "scp"].containsAll(context.programs) &&
  ["/dev/null", "/dev/stdout", "/dev/stderr"].containsAll(context.writesFiles)
};

// Commands run as root wait for a human approver (any sudo anywhere in the command line).
@id("requester-ssh-sudo-approval")
${PII_MASK}
${oneApproval('15m')}
permit (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "ssh" &&
  context has programs && (context.programs.contains("sudo") || context.programs.contains("doas"))
};

// Scripts run by an interpreter (python3 x.py, bash deploy.sh) wait for a human approver too.
@id("requester-ssh-interpreter-approval")
${PII_MASK}
${oneApproval('15m')}
permit (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "ssh" && resource.hasTag("demo") &&
  context has interpreter && context.interpreter
};

@id("requester-ssh-no-destructive")
@reason("destructive programs (rm, shred, dd, mkfs, truncate, mv, cp, shutdown, reboot ...) are not allowed for workloads")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && context has programs &&
  context.programs.containsAny(["rm", "rmdir", "unlink", "shred", "srm", "wipe", "wipefs", "dd", "truncate", "fallocate",
    "mv", "cp", "install", "mkfs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat",
    "mkfs.fat", "mke2fs", "mkswap", "fdisk", "sfdisk", "gdisk", "parted", "blkdiscard", "shutdown", "reboot", "halt",
    "poweroff", "init", "telinit", "kill", "killall", "pkill"])
}
unless { principal.gatewayRoles.contains("admin") };

@id("requester-ssh-no-destructive-options")
@reason("options that delete or overwrite files (find -delete, sed -i, rsync --delete ...) are not allowed for workloads")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && context has flags &&
  context.flags.containsAny(["find:-delete", "find:-fprint", "find:-fprint0", "find:-fprintf", "find:-fls",
    "sed:-i", "sed:--in-place", "rsync:--delete", "rsync:--remove-source-files", "sort:-o", "sort:--output"])
}
unless { principal.gatewayRoles.contains("admin") };

@id("requester-ssh-no-file-writes")
@reason("commands may not write files (redirections, tee, dd of=) for workloads; copy files with scp or sftp")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && context has writesFiles &&
  !["/dev/null", "/dev/stdout", "/dev/stderr"].containsAll(context.writesFiles)
}
unless { principal.gatewayRoles.contains("admin") };

@id("requester-ssh-scp-server-only")
@reason("scp runs on the target only as the receiving or sending end of a copy (scp -t / scp -f), never as a client copying elsewhere")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && context has programs && context.programs.contains("scp") &&
  context has flags && !context.flags.containsAny(["scp:-t", "scp:-f"])
}
unless { principal.gatewayRoles.contains("admin") };

// A command's output comes back to the client masked, a terminal's does not (a rewrite would break
// its screen; it is masked only in the recording): workloads run commands without one (no ssh -t),
// so what they read is masked. An exec that does not say whether it has a terminal is refused too.
// (Workloads get no ssh:shell at all.)
@id("requester-ssh-no-terminal")
@reason("workloads run commands without a terminal (no ssh -t): a terminal's output is not masked on its way to the client")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
when { principal.gatewayRoles.contains("requester") && !(context has pty && !context.pty) }
unless { principal.gatewayRoles.contains("admin") };

@id("requester-ssh-no-opaque")
@reason("the command has parts known only at run time (a computed program name, code given inline to an interpreter, eval, xargs, find -exec) or does not parse")
forbid (principal, action in [Gateway::Action::"ssh:exec", Gateway::Action::"ssh:shell"], resource)
when { principal.gatewayRoles.contains("requester") && context has opaque && context.opaque }
unless { principal.gatewayRoles.contains("admin") };

// Kubernetes (the k8s-demo cluster): workloads act as the service account gw/deployer, whose token
// the agent asks the API server for per session. They read with Secret data and PII masked, create
// and change things in the default namespace, exec into its pods; deletes wait for an approver, and
// so does an exec into a pod in prod. Everything else (e.g. writes in prod) is denied, and so are,
// also in default, minting credentials and writing RBAC objects (the two forbids below).
@id("requester-k8s-connect")
@k8s_service_account("gw/deployer")
@max_session("1h")
permit (principal, action == Gateway::Action::"connect", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" && resource.hasTag("demo") };

@id("requester-k8s-read")
@mask_columns("secrets.data:full, secrets.stringData:full")
${PII_MASK}
permit (principal, action in Gateway::Action::"k8s:read", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" };

@id("requester-k8s-write-default")
@mask_columns("secrets.data:full, secrets.stringData:full")
${PII_MASK}
permit (principal, action in [Gateway::Action::"k8s:create", Gateway::Action::"k8s:update", Gateway::Action::"k8s:patch"], resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" &&
  context has namespace && context.namespace == "default"
};

// A service account token (TokenRequest, kubectl create token), an approved or signed certificate
// signing request, or a service account token Secret is a credential that works without the gateway:
// no policy, no approval, no record. The agent decides those requests as k8s:issue_credential.
@id("requester-k8s-no-credentials")
@reason("minting credentials (service account tokens, certificate approvals and signatures, token Secrets) is not allowed for workloads: the credential would work without the gateway")
forbid (principal, action == Gateway::Action::"k8s:issue_credential", resource)
when { principal.gatewayRoles.contains("requester") }
unless { principal.gatewayRoles.contains("admin") };

// A pod spec with host namespaces, a hostPath volume, a privileged container or added capabilities
// (beyond the Pod Security Standards' baseline) is the node, and every secret on it, not a workload:
// the agent decides such writes (Pods, Deployments, Jobs ... in any namespace) as k8s:run_privileged too.
@id("requester-k8s-no-privileged-pods")
@reason("pods with host namespaces, hostPath volumes, host ports, privileged containers or added capabilities reach the node; workloads do not create them")
forbid (principal, action == Gateway::Action::"k8s:run_privileged", resource)
when { principal.gatewayRoles.contains("requester") }
unless { principal.gatewayRoles.contains("admin") };

// Roles and role bindings grant permissions, to anyone and also outside the gateway (the API
// server's bind and escalate checks apply to the service account, not to this policy): workloads do
// not write them, even in default where they may create other things.
@id("requester-k8s-no-rbac-writes")
@reason("roles and role bindings grant permissions; workloads do not write them")
forbid (principal, action in [Gateway::Action::"k8s:create", Gateway::Action::"k8s:update", Gateway::Action::"k8s:patch"], resource)
when {
  principal.gatewayRoles.contains("requester") &&
  context has apiGroup && context.apiGroup == "rbac.authorization.k8s.io"
}
unless { principal.gatewayRoles.contains("admin") };

@id("requester-k8s-delete-approval")
${oneApproval('15m')}
permit (principal, action in [Gateway::Action::"k8s:delete", Gateway::Action::"k8s:deletecollection"], resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" };

@id("requester-k8s-exec-default")
${PII_MASK}
permit (principal, action == Gateway::Action::"k8s:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" &&
  context has namespace && context.namespace == "default"
};

@id("requester-k8s-exec-prod-approval")
${PII_MASK}
${oneApproval('15m')}
permit (principal, action == Gateway::Action::"k8s:exec", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" &&
  context has namespace && context.namespace == "prod"
};

// MCP servers behind the gateway (mcp-files: @modelcontextprotocol/server-filesystem over the demo's
// folder of customer files). Workloads connect with PII masked in every answer and use the tools the
// server marks read-only; writes wait for a human approver; moving or renaming files is denied, so
// move_file is left out of tools/list as well.
@id("requester-mcp-connect")
${PII_MASK}
permit (principal, action == Gateway::Action::"connect", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" && resource.hasTag("demo") };

@id("requester-mcp-read")
${PII_MASK}
permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "mcp" &&
  context has toolReadOnly && context.toolReadOnly
};

@id("requester-mcp-write-approval")
${oneApproval('15m')}
permit (principal, action == Gateway::Action::"mcp:call_tool", resource)
when {
  principal.gatewayRoles.contains("requester") && resource.type == "mcp" &&
  context has tool && ["write_file", "edit_file", "create_directory"].contains(context.tool)
};

@id("requester-mcp-no-move")
@reason("moving or renaming files is not allowed for workloads")
forbid (principal, action == Gateway::Action::"mcp:call_tool", resource)
when { principal.gatewayRoles.contains("requester") && resource.type == "mcp" && context has tool && context.tool == "move_file" };
`;
