export { MysqlClassifier } from './classifier.js';
export type { MysqlClassifierOptions, MysqlStatementClassification } from './classifier.js';
export { lexStatements } from './lexer.js';
export type { LexedStatement, LexOptions } from './lexer.js';
export { viewColumns, type ViewColumn } from './view-columns.js';
export { bindRelation } from './ast-walk.js';
