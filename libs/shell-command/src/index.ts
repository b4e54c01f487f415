export { analyzeShellCommand } from './analyze.js';
export type { ShellCommandAnalysis } from './analysis.js';
export { loadBashParser } from './grammar.js';
