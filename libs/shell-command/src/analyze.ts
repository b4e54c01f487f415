import type { Node, Parser } from 'web-tree-sitter';
import { AnalysisCollector, type ShellCommandAnalysis } from './analysis.js';
import { loadBashParser } from './grammar.js';
import { analyzeInvocation, type Word } from './invocation.js';
import { isCodeChangingVariable } from './program-tables.js';
import { staticWordValue } from './words.js';

/** Shell code nested deeper than this (`sh -c "sh -c '...'"`) is not followed: opaque. */
const MAX_NESTING = 4;
/** Syntax trees deeper than this (`$($($(...)))` thousands deep) are not walked (the stack would overflow): opaque. */
const MAX_TREE_DEPTH = 500;
const WRITE_OPERATORS = new Set(['>', '>>', '>|', '&>', '&>>', '<>']);
const INPUT_OPERATORS = new Set(['<', '<&', '<>', '<<', '<<-', '<<<']);
const ARITHMETIC_TEST = /^-(eq|ne|lt|le|gt|ge)$/;
/** Text that names an array element whose subscript expands something: `a[$(cmd)]`, `a[`cmd`]`. */
const CODE_IN_SUBSCRIPT = /\[[^\]]*[$`]/;

/**
 * Parses a command line with the bash grammar and returns what it runs. Fails closed: a line that
 * does not parse, or any part whose meaning is only known at run time, makes the result `opaque`.
 */
export async function analyzeShellCommand(text: string): Promise<ShellCommandAnalysis> {
  const parser = await loadBashParser();
  const collector = new AnalysisCollector();
  analyzeSource(parser, text, collector, 0);
  return collector.result();
}

function analyzeSource(parser: Parser, text: string, collector: AnalysisCollector, depth: number): void {
  if (depth > MAX_NESTING) {
    collector.opaque(`shell code nested more than ${MAX_NESTING} levels deep`);
    return;
  }
  if (text.includes('\0')) collector.opaque('the command contains a NUL character');
  const tree = parser.parse(text);
  if (!tree) {
    collector.opaque('the command could not be parsed');
    return;
  }
  try {
    if (tree.rootNode.hasError) collector.opaque('the command is not valid shell syntax');
    walk(tree.rootNode, { parser, collector, depth });
    checkLineContinuations(text, tree.rootNode, collector);
  } finally {
    tree.delete();
  }
}

interface WalkState {
  parser: Parser;
  collector: AnalysisCollector;
  depth: number;
}

function walk(node: Node, state: WalkState, level = 0): void {
  const c = state.collector;
  if (level > MAX_TREE_DEPTH) {
    c.opaque(`the command is nested more than ${MAX_TREE_DEPTH} levels deep`);
    return;
  }
  switch (node.type) {
    case 'ERROR':
      c.opaque('the command is not valid shell syntax');
      break;
    case 'command':
      analyzeInvocation(commandWords(node), {
        collector: c,
        stdinFromLine: stdinFromLine(node),
        analyzeCode: (code) => analyzeSource(state.parser, code, c, state.depth + 1),
      });
      break;
    case 'file_redirect':
      recordRedirect(node, c);
      break;
    case 'variable_assignment': {
      const name = node.childForFieldName('name')?.text ?? '';
      if (isCodeChangingVariable(name.replace(/\[.*$/, ''))) c.opaque(`setting ${name} decides what code runs`);
      // `declare -i x; x='a[$(cmd)]'`: assigning to an integer variable evaluates the value as arithmetic.
      const value = node.childForFieldName('value');
      if (value && ['raw_string', 'string'].includes(value.type) && CODE_IN_SUBSCRIPT.test(value.text)) c.opaque('an assigned value names an array subscript that can run code');
      break;
    }
    case 'declaration_command':
    case 'unset_command':
      // `declare 'a[$(cmd)]=1'`, `unset 'a[$(cmd)]'`: the quoted name's subscript is evaluated, running cmd.
      if (node.namedChildren.some((a) => a !== null && a.type !== 'variable_assignment' && CODE_IN_SUBSCRIPT.test(a.text))) c.opaque(`${node.child(0)?.text ?? 'declare'} evaluates an array subscript that can run code`);
      break;
    case 'unary_expression':
      // `[[ -v 'a[$(cmd)]' ]]` evaluates the subscript too.
      if (/^-[vR]$/.test(node.childForFieldName('operator')?.text ?? '') && CODE_IN_SUBSCRIPT.test(node.text)) c.opaque('[[ -v ]] evaluates an array subscript that can run code');
      break;
    case 'redirected_statement':
      // The grammar gives words after a redirection (`sudo >f rm -rf /`) to the redirection; bash gives
      // them to the command. They are read back into a simple command (commandWords); any other body is opaque.
      if (node.childForFieldName('body')?.type !== 'command' && node.childrenForFieldName('redirect').some((r) => r !== null && wordsAfterRedirect(r).length > 0)) {
        c.opaque('words after a redirection that belong to no command');
      }
      break;
    case 'heredoc_redirect':
      checkHeredocDelimiter(node, c);
      break;
    case 'command_substitution': {
      // In `...` bash first removes a backslash before $, ` and \, then parses what is left: an escaped
      // backtick inside is a nested substitution (`echo \`rm x\``) that the grammar reads as a word.
      const inner = node.child(0)?.type === '`' ? node.text.slice(1, -1) : undefined;
      const unescaped = inner?.replace(/\\([$`\\])/g, '$1');
      if (inner !== undefined && unescaped !== inner) analyzeSource(state.parser, unescaped!, c, state.depth + 1);
      break;
    }
    case 'arithmetic_expansion':
    case 'c_style_for_statement':
    case 'subscript':
      c.opaque('arithmetic evaluation can run code through array subscripts in variables');
      break;
    case 'compound_statement':
      if (node.child(0)?.type === '((') c.opaque('arithmetic evaluation can run code through array subscripts in variables');
      break;
    case 'test_operator':
      if (ARITHMETIC_TEST.test(node.text) && node.parent?.parent?.type !== 'command') c.opaque('[[ ]] arithmetic comparison can run code through array subscripts in variables');
      break;
    case 'expansion':
      // ${x:offset}: the offset is arithmetic.
      if (/^\$\{[#!]?[^}:]*:[^-=?+]/.test(node.text)) c.opaque('a substring offset is arithmetic, which can run code');
      // The grammar does not parse every substitution inside ${...} (`${x:=`cmd`}`, `${x#$(cmd)}`,
      // `${x-<(cmd)}`), which bash runs: one it did not give a node is code policy cannot see.
      if (unparsedSubstitution(node)) c.opaque('a command or process substitution inside ${...} that cannot be read with certainty');
      // ${x@P} expands x's value as a prompt, running any $(...) in it; ${!x} reads the variable x names,
      // whose subscript (`a[$(cmd)]`) is evaluated: both run code that is only known at run time.
      if (/^\$\{[^}]*@P\}$/.test(node.text)) c.opaque('${x@P} expands a value as a prompt, which can run code');
      if (/^\$\{![^}*@]*\}$/.test(node.text)) c.opaque('${!x} reads a variable named at run time, whose subscript can run code');
      break;
    default:
      if (node.isMissing) c.opaque('the command is not valid shell syntax');
  }
  for (const child of node.children) if (child) walk(child, state, level + 1);
}

/**
 * Text with a substitution the grammar did not parse: `unparsed` (in ${...}: a backtick, `<(`/`>(`), or
 * more `$(` than the substitutions the grammar found in it.
 */
function unparsedSubstitution(node: Node, unparsed = /`|[<>]\(/): boolean {
  if (unparsed.test(node.text)) return true;
  const written = node.text.split('$(').length - 1;
  return written > node.descendantsOfType(['command_substitution', 'arithmetic_expansion']).length;
}

/**
 * The command's name and arguments, in order, each with its static value. Arguments written after a
 * redirection (`rm 2>/dev/null -rf /`) are found where the grammar puts them: in the redirection.
 */
function commandWords(node: Node): Word[] {
  const name = node.childForFieldName('name');
  if (!name) return [];
  const nameWord = name.namedChildren[0] ?? name;
  const args: Node[] = node.childrenForFieldName('argument').filter((a) => a !== null);
  const redirects = node.childrenForFieldName('redirect');
  const parent = node.parent;
  if (parent?.type === 'redirected_statement' && parent.childForFieldName('body')?.id === node.id) redirects.push(...parent.childrenForFieldName('redirect'));
  for (const r of redirects) if (r) args.push(...wordsAfterRedirect(r));
  args.sort((a, b) => a.startIndex - b.startIndex);
  return [nameWord ? staticWordValue(nameWord) : undefined, ...args.map((a) => staticWordValue(a))];
}

/** Words the grammar attached to a redirection after its target: arguments of the command (see commandWords). */
function wordsAfterRedirect(redirect: Node): Node[] {
  if (redirect.type !== 'file_redirect') return [];
  return redirect.childrenForFieldName('destination').slice(1).filter((d) => d !== null);
}

/**
 * A here-document ends at the first line equal to its delimiter after quote removal. Bash also
 * removes `$'...'` and `$"..."` quotes there, the grammar does not (it would read the lines after
 * bash's end as more text, hiding commands): a delimiter other than plain or plainly quoted
 * characters, or an end the grammar found at another line, is opaque.
 */
function checkHeredocDelimiter(node: Node, c: AnalysisCollector): void {
  const start = node.children.find((n) => n?.type === 'heredoc_start');
  const end = node.children.find((n) => n?.type === 'heredoc_end');
  const plain = start && /^(?:[\w.,:+@%=/-]|\\[\w.,:+@%=/-]|'[\w.,:+@%=/ -]*'|"[\w.,:+@%=/ -]*")+$/.test(start.text);
  const delimiter = start?.text.replace(/\\(.)|['"]/g, (_m, escaped: string | undefined) => escaped ?? '');
  if (!plain || (end && end.text !== delimiter)) c.opaque('a here-document delimiter that cannot be read with certainty');
  // An unquoted delimiter: bash runs the body's substitutions, but the grammar parses only `$(...)`
  // there, not `...` in backticks.
  const unquoted = start && !/['"\\]/.test(start.text);
  const body = node.children.find((n) => n?.type === 'heredoc_body');
  if (unquoted && body && unparsedSubstitution(body, /`/)) c.opaque('a command substitution in a here-document that cannot be read with certainty');
}

/** Whether the line itself gives this command its stdin: later in a pipeline, or an input redirection around it. */
function stdinFromLine(node: Node): boolean {
  if (node.children.some((c) => c?.type === 'herestring_redirect' || (c?.type === 'file_redirect' && INPUT_OPERATORS.has(redirectOperator(c))))) return true;
  let child: Node = node;
  for (let parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (parent.type === 'pipeline' && parent.namedChildren[0]?.id !== child.id) return true;
    if (parent.type === 'redirected_statement') {
      for (const r of parent.childrenForFieldName('redirect')) {
        if (!r) continue;
        if (r.type === 'heredoc_redirect' || r.type === 'herestring_redirect') return true;
        if (r.type === 'file_redirect' && INPUT_OPERATORS.has(redirectOperator(r))) return true;
      }
    }
    if (parent.type === 'command_substitution' || parent.type === 'process_substitution' || parent.type === 'program') break;
  }
  return false;
}

function redirectOperator(redirect: Node): string {
  return redirect.children.find((c) => c !== null && !c.isNamed)?.type ?? '';
}

function recordRedirect(node: Node, c: AnalysisCollector): void {
  const op = redirectOperator(node);
  const destination = node.childForFieldName('destination');
  const target = destination ? staticWordValue(destination) : undefined;
  const duplicatesDescriptor = op === '>&' && target !== undefined && /^([0-9]+-?|-)$/.test(target);
  if (WRITE_OPERATORS.has(op) || (op === '>&' && !duplicatesDescriptor)) c.writesFiles.add(target ?? '?');
}

const QUOTED_CONTEXTS = new Set(['raw_string', 'string', 'ansi_c_string', 'translated_string', 'heredoc_body', 'comment']);

/**
 * Bash removes a backslash-newline before it splits words (`r\<newline>m` is `rm`); the grammar
 * treats it as a word break. One that touches a word outside quotes is opaque rather than guessed.
 */
function checkLineContinuations(text: string, root: Node, c: AnalysisCollector): void {
  for (let i = text.indexOf('\\\n'); i >= 0; i = text.indexOf('\\\n', i + 2)) {
    let backslashes = 1;
    while (i - backslashes >= 0 && text[i - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) continue; // an escaped backslash, then a newline
    const before = i > 0 ? text[i - 1]! : ' ';
    const after = i + 2 < text.length ? text[i + 2]! : ' ';
    if (/\s/.test(before) && /\s/.test(after)) continue;
    let quoted = false;
    for (let n: Node | null = root.descendantForIndex(i, i + 1); n; n = n.parent) if (QUOTED_CONTEXTS.has(n.type)) quoted = true;
    if (!quoted) c.opaque('a line continuation inside a word');
  }
}
