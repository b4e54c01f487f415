/**
 * Parse-tree node types that have no effect of their own: expressions, names, clauses and options.
 * Their children are still walked, so a statement nested anywhere below them is found.
 *
 * This is an allow-list on purpose. A node type that is neither here nor in STATEMENT_RULES makes the
 * classifier throw, so a parser upgrade that adds a new (possibly data-modifying) node cannot slip
 * through as read-only: someone has to decide where it belongs.
 */
export const INERT_NODES: ReadonlySet<string> = new Set([
  // values and names
  'Integer', 'Float', 'Boolean', 'String', 'BitString', 'List', 'A_Const', 'Alias', 'TypeName',
  'RoleSpec', 'ObjectWithArgs', 'AccessPriv', 'DefElem', 'CollateClause',
  // expressions (raw parse-tree forms)
  'ColumnRef', 'ParamRef', 'A_Expr', 'TypeCast', 'A_Star', 'A_Indices', 'A_Indirection', 'A_ArrayExpr',
  'BoolExpr', 'SubLink', 'CaseExpr', 'CaseWhen', 'RowExpr', 'CoalesceExpr', 'MinMaxExpr', 'SQLValueFunction',
  'XmlExpr', 'XmlSerialize', 'NullTest', 'BooleanTest', 'SetToDefault', 'CurrentOfExpr', 'GroupingFunc',
  'GroupingSet', 'NamedArgExpr', 'MergeSupportFunc', 'MultiAssignRef', 'ResTarget', 'SortBy', 'WindowDef',
  // JSON expressions
  'JsonFormat', 'JsonReturning', 'JsonValueExpr', 'JsonBehavior', 'JsonIsPredicate', 'JsonOutput',
  'JsonArgument', 'JsonFuncExpr', 'JsonTablePathSpec', 'JsonTable', 'JsonTableColumn', 'JsonKeyValue',
  'JsonParseExpr', 'JsonScalarExpr', 'JsonSerializeExpr', 'JsonObjectConstructor', 'JsonArrayConstructor',
  'JsonArrayQueryConstructor', 'JsonAggConstructor', 'JsonObjectAgg', 'JsonArrayAgg',
  // FROM items and query clauses (RangeVar and FuncCall are recorded by the walker itself)
  'RangeVar', 'FuncCall', 'JoinExpr', 'RangeSubselect', 'RangeFunction', 'RangeTableFunc', 'RangeTableFuncCol',
  'RangeTableSample', 'IntoClause', 'LockingClause', 'WithClause', 'CommonTableExpr', 'CTESearchClause',
  'CTECycleClause', 'InferClause', 'OnConflictClause', 'MergeWhenClause', 'ReturningClause', 'ReturningOption',
  // DDL building blocks
  'ColumnDef', 'TableLikeClause', 'IndexElem', 'Constraint', 'PartitionElem', 'PartitionSpec',
  'PartitionBoundSpec', 'PartitionRangeDatum', 'PartitionCmd', 'AlterTableCmd', 'ATAlterConstraint',
  'FunctionParameter', 'TriggerTransition', 'CreateOpClassItem', 'StatsElem', 'VacuumRelation',
  'PublicationTable', 'PublicationObjSpec',
  // `RETURN expr` inside a BEGIN ATOMIC / RETURN function body: an expression, walked like one
  'ReturnStmt',
]);
