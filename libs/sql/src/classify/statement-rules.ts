import type { SqlAction, StatementKind } from '../actions.js';

export interface StatementRule {
  /** Kind reported when this node is the top-level statement (some are refined by the walker's hooks). */
  readonly kind: StatementKind;
  /** Actions the statement needs wherever it appears (hooks may add more). */
  readonly actions: readonly SqlAction[];
  /** Fields whose relations (RangeVar, lists of them, VacuumRelation) are written rather than read. */
  readonly writeFields?: readonly string[];
}

const ddl = (writeFields?: readonly string[]): StatementRule => ({ kind: 'ddl', actions: ['sql:ddl'], writeFields });
const admin = (writeFields?: readonly string[]): StatementRule => ({ kind: 'admin', actions: ['sql:admin'], writeFields });
const session: StatementRule = { kind: 'session', actions: ['sql:session'] };

/**
 * Every statement node type the parser can produce, with its kind and base actions.
 * Statements that change who you are, what the server runs as, server configuration, or that can load or
 * run server-side code are `admin`. A statement node missing from this table makes the classifier throw.
 */
export const STATEMENT_RULES: Readonly<Record<string, StatementRule>> = {
  // data: actions refined by hooks in walk.ts (VALUES, INTO, ON CONFLICT, RETURNING, MERGE clauses...)
  SelectStmt: { kind: 'select', actions: [] },
  InsertStmt: { kind: 'insert', actions: ['sql:insert'], writeFields: ['relation'] },
  UpdateStmt: { kind: 'update', actions: ['sql:update'], writeFields: ['relation'] },
  DeleteStmt: { kind: 'delete', actions: ['sql:delete'], writeFields: ['relation'] },
  MergeStmt: { kind: 'merge', actions: ['sql:select'], writeFields: ['relation'] },
  CopyStmt: { kind: 'copy_to', actions: [] },
  TruncateStmt: { kind: 'truncate', actions: ['sql:delete', 'sql:ddl'], writeFields: ['relations'] },
  DeclareCursorStmt: { kind: 'select', actions: ['sql:select'] },
  FetchStmt: { kind: 'select', actions: ['sql:select'] },
  ClosePortalStmt: session,
  ExplainStmt: { kind: 'explain', actions: [] },

  // prepared statements
  PrepareStmt: { kind: 'prepare', actions: [] },
  ExecuteStmt: { kind: 'execute', actions: [] },
  DeallocateStmt: session,

  // session and transaction control
  TransactionStmt: session,
  VariableSetStmt: { kind: 'session', actions: [] }, // refined: role / session authorization / parser-divergence settings are admin
  VariableShowStmt: session,
  DiscardStmt: session,
  ListenStmt: session,
  UnlistenStmt: session,
  NotifyStmt: session,
  ConstraintsSetStmt: session,

  // procedural code
  DoStmt: { kind: 'procedural', actions: ['sql:procedural'] },
  CallStmt: { kind: 'procedural', actions: ['sql:procedural'] },
  CreateFunctionStmt: { kind: 'ddl', actions: ['sql:ddl', 'sql:procedural'] },

  // schema changes
  CreateStmt: ddl(['relation']),
  CreateForeignTableStmt: ddl(),
  CreateTableAsStmt: ddl(),
  RefreshMatViewStmt: ddl(['relation']),
  ViewStmt: ddl(['view']),
  AlterTableStmt: ddl(['relation']),
  DropStmt: ddl(),
  IndexStmt: ddl(['relation']),
  ReindexStmt: ddl(['relation']),
  CreateSchemaStmt: ddl(),
  CreateSeqStmt: ddl(['sequence']),
  AlterSeqStmt: ddl(['sequence']),
  DefineStmt: ddl(),
  CreateDomainStmt: ddl(),
  AlterDomainStmt: ddl(),
  CompositeTypeStmt: ddl(),
  CreateEnumStmt: ddl(),
  CreateRangeStmt: ddl(),
  AlterEnumStmt: ddl(),
  AlterTypeStmt: ddl(),
  RenameStmt: ddl(['relation']),
  AlterObjectSchemaStmt: ddl(['relation']),
  AlterObjectDependsStmt: ddl(['relation']),
  AlterOperatorStmt: ddl(),
  AlterFunctionStmt: ddl(),
  CommentStmt: ddl(),
  CreateTrigStmt: ddl(['relation']),
  CreatePolicyStmt: ddl(['table']),
  AlterPolicyStmt: ddl(['table']),
  CreateStatsStmt: ddl(),
  AlterStatsStmt: ddl(),
  AlterCollationStmt: ddl(),
  CreateOpClassStmt: ddl(),
  CreateOpFamilyStmt: ddl(),
  AlterOpFamilyStmt: ddl(),
  AlterTSDictionaryStmt: ddl(),
  AlterTSConfigurationStmt: ddl(),
  CreateCastStmt: ddl(),
  CreateTransformStmt: ddl(),
  CreateConversionStmt: ddl(),
  ReplicaIdentityStmt: ddl(),
  RuleStmt: ddl(['relation']), // the rule's actions are nested statements and are walked too

  // administration: privileges, roles, server, databases, storage, extensions, replication, maintenance
  GrantStmt: admin(['objects']),
  GrantRoleStmt: admin(),
  AlterDefaultPrivilegesStmt: admin(),
  CreateRoleStmt: admin(),
  AlterRoleStmt: admin(),
  AlterRoleSetStmt: admin(),
  DropRoleStmt: admin(),
  DropOwnedStmt: admin(),
  ReassignOwnedStmt: admin(),
  AlterOwnerStmt: admin(['relation']),
  AlterSystemStmt: admin(),
  LoadStmt: admin(),
  VacuumStmt: admin(['rels']),
  ClusterStmt: admin(['relation']),
  CheckPointStmt: admin(),
  LockStmt: admin(['relations']), // an explicit table lock can stall every other session
  CreatedbStmt: admin(),
  DropdbStmt: admin(),
  AlterDatabaseStmt: admin(),
  AlterDatabaseSetStmt: admin(),
  AlterDatabaseRefreshCollStmt: admin(),
  CreateTableSpaceStmt: admin(),
  DropTableSpaceStmt: admin(),
  AlterTableSpaceOptionsStmt: admin(),
  AlterTableMoveAllStmt: admin(),
  CreateExtensionStmt: admin(), // extensions can install C code
  AlterExtensionStmt: admin(),
  AlterExtensionContentsStmt: admin(),
  CreateFdwStmt: admin(),
  AlterFdwStmt: admin(),
  CreateForeignServerStmt: admin(),
  AlterForeignServerStmt: admin(),
  CreateUserMappingStmt: admin(),
  AlterUserMappingStmt: admin(),
  DropUserMappingStmt: admin(),
  ImportForeignSchemaStmt: admin(),
  CreatePLangStmt: admin(),
  CreateAmStmt: admin(),
  CreateEventTrigStmt: admin(),
  AlterEventTrigStmt: admin(),
  CreatePublicationStmt: admin(),
  AlterPublicationStmt: admin(),
  CreateSubscriptionStmt: admin(),
  AlterSubscriptionStmt: admin(),
  DropSubscriptionStmt: admin(),
  SecLabelStmt: admin(),
};

/** `LOCK ... IN ACCESS SHARE MODE` (lock mode 1): the lock every SELECT takes, held to the end of the transaction. */
const ACCESS_SHARE_LOCK_MODE = 1;
const ACCESS_SHARE_LOCK: StatementRule = { kind: 'select', actions: ['sql:select'] };

/**
 * The rule for one statement node. An explicit lock is admin (it can stall every other session), except
 * in ACCESS SHARE mode: that is the lock a SELECT takes anyway and conflicts only with ACCESS EXCLUSIVE
 * (ALTER, DROP, TRUNCATE, VACUUM FULL). pg_dump takes it on every table it dumps, so it is a read of
 * those tables.
 */
/**
 * Two-phase commit: PREPARE TRANSACTION keeps the transaction, and every lock it holds (FOR UPDATE rows,
 * advisory xact locks, the ACCESS SHARE locks that block ALTER/VACUUM FULL/DROP), past the session's end
 * until someone finishes it; COMMIT/ROLLBACK PREPARED finishes a transaction another session prepared.
 */
const TWO_PHASE_KINDS: ReadonlySet<unknown> = new Set(['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);
const TWO_PHASE: StatementRule = admin();

export function statementRuleFor(type: string, body: Record<string, unknown>): StatementRule | undefined {
  if (type === 'LockStmt' && body['mode'] === ACCESS_SHARE_LOCK_MODE) return ACCESS_SHARE_LOCK;
  if (type === 'TransactionStmt' && TWO_PHASE_KINDS.has(body['kind'])) return TWO_PHASE;
  return STATEMENT_RULES[type];
}
