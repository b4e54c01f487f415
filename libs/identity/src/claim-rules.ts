/**
 * Claim rules: small boolean expressions over a verified token, used to map platform tokens to
 * gateway roles and to say which principals may present which process attestations.
 *
 *   rule    := or
 *   or      := and (("||" | "or") and)*
 *   and     := unary (("&&" | "and") unary)*
 *   unary   := ("!" | "not") unary | "(" or ")" | compare
 *   compare := path ("==" | "!=") string
 *            | path "in" "[" string ("," string)* "]"
 *            | path "matches" string          glob: "*" is any run of characters, nothing else is special
 *   path    := name ("." name)*               name: letters, digits, _ and -
 *   string  := "..." with \" and \\ escapes
 *
 * A path names a claim of the token (`repository`, `ref`, nested claims by dots), a field of the
 * process record (`process.run_id`), or, for attestations, of the principal that presents it
 * (`principal.appId`). A claim that is missing or not text makes every comparison on it false,
 * `!=` included, so a rule never grants anything on the strength of an absent claim.
 * A list claim (`groups`) compares true when any element does.
 */

export class ClaimRuleSyntaxError extends Error {
  override readonly name = 'ClaimRuleSyntaxError';
}

export type ClaimRule =
  | { op: 'and' | 'or'; left: ClaimRule; right: ClaimRule }
  | { op: 'not'; operand: ClaimRule }
  | { op: 'eq' | 'ne' | 'matches'; path: string[]; value: string }
  | { op: 'in'; path: string[]; values: string[] };

/** What a rule reads: the token's claims and, by prefix, the process record and the presenting principal. */
export interface RuleSubject {
  claims: Record<string, unknown>;
  process?: Record<string, unknown>;
  principal?: Record<string, unknown>;
}

const MAX_RULE_LENGTH = 2048;
const MAX_DEPTH = 32;

type Token = { kind: 'punct'; text: string } | { kind: 'word'; text: string } | { kind: 'string'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '"') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= source.length) throw new ClaimRuleSyntaxError('unterminated string');
        const c = source[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = source[i + 1];
          if (next !== '"' && next !== '\\') throw new ClaimRuleSyntaxError('only \\" and \\\\ escapes are allowed in strings');
          value += next;
          i += 2;
        } else {
          value += c;
          i += 1;
        }
      }
      i += 1;
      tokens.push({ kind: 'string', text: value });
    } else if (['==', '!=', '&&', '||'].includes(source.slice(i, i + 2))) {
      tokens.push({ kind: 'punct', text: source.slice(i, i + 2) });
      i += 2;
    } else if ('!()[],.'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch });
      i += 1;
    } else if (/[A-Za-z0-9_-]/.test(ch)) {
      const word = /^[A-Za-z0-9_-]+/.exec(source.slice(i))![0];
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    } else {
      throw new ClaimRuleSyntaxError(`unexpected character "${ch}" at ${i}`);
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): ClaimRule {
    const rule = this.or(0);
    if (this.pos < this.tokens.length) throw new ClaimRuleSyntaxError(`unexpected "${this.tokens[this.pos]!.text}"`);
    return rule;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isOp(...texts: string[]): boolean {
    const t = this.peek();
    return t !== undefined && t.kind !== 'string' && texts.includes(t.text);
  }

  private expectPunct(text: string): void {
    if (!this.isOp(text)) throw new ClaimRuleSyntaxError(`expected "${text}"${this.peek() ? ` before "${this.peek()!.text}"` : ' at the end'}`);
    this.pos += 1;
  }

  private string(): string {
    const t = this.peek();
    if (t?.kind !== 'string') throw new ClaimRuleSyntaxError('expected a quoted string');
    this.pos += 1;
    return t.text;
  }

  private or(depth: number): ClaimRule {
    let left = this.and(depth);
    while (this.isOp('||', 'or')) {
      this.pos += 1;
      left = { op: 'or', left, right: this.and(depth) };
    }
    return left;
  }

  private and(depth: number): ClaimRule {
    let left = this.unary(depth);
    while (this.isOp('&&', 'and')) {
      this.pos += 1;
      left = { op: 'and', left, right: this.unary(depth) };
    }
    return left;
  }

  private unary(depth: number): ClaimRule {
    if (depth > MAX_DEPTH) throw new ClaimRuleSyntaxError('the rule nests too deeply');
    if (this.isOp('!', 'not')) {
      this.pos += 1;
      return { op: 'not', operand: this.unary(depth + 1) };
    }
    if (this.isOp('(')) {
      this.pos += 1;
      const inner = this.or(depth + 1);
      this.expectPunct(')');
      return inner;
    }
    return this.compare();
  }

  private compare(): ClaimRule {
    const path = this.path();
    if (this.isOp('==', '!=')) {
      const op = this.peek()!.text === '==' ? 'eq' : 'ne';
      this.pos += 1;
      return { op, path, value: this.string() };
    }
    if (this.isOp('matches')) {
      this.pos += 1;
      return { op: 'matches', path, value: this.string() };
    }
    if (this.isOp('in')) {
      this.pos += 1;
      this.expectPunct('[');
      const values = [this.string()];
      while (this.isOp(',')) {
        this.pos += 1;
        values.push(this.string());
      }
      this.expectPunct(']');
      return { op: 'in', path, values };
    }
    throw new ClaimRuleSyntaxError(`expected ==, !=, in or matches after "${path.join('.')}"`);
  }

  private path(): string[] {
    const first = this.peek();
    if (first?.kind !== 'word') throw new ClaimRuleSyntaxError(`expected a claim name${first ? ` before "${first.text}"` : ' at the end'}`);
    this.pos += 1;
    const path = [first.text];
    while (this.isOp('.')) {
      this.pos += 1;
      const next = this.peek();
      if (next?.kind !== 'word') throw new ClaimRuleSyntaxError('expected a name after "."');
      this.pos += 1;
      path.push(next.text);
    }
    return path;
  }
}

/** Parses a rule; throws ClaimRuleSyntaxError with a short reason. */
export function parseClaimRule(source: string): ClaimRule {
  if (source.length === 0 || source.length > MAX_RULE_LENGTH) throw new ClaimRuleSyntaxError(`a rule is 1 to ${MAX_RULE_LENGTH} characters`);
  return new Parser(tokenize(source)).parse();
}

function lookup(subject: RuleSubject, path: string[]): unknown {
  let value: unknown;
  let rest: string[];
  if (path[0] === 'process' && path.length > 1) [value, rest] = [subject.process, path.slice(1)];
  else if (path[0] === 'principal' && path.length > 1) [value, rest] = [subject.principal, path.slice(1)];
  else [value, rest] = [subject.claims, path];
  for (const key of rest) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The values a path compares as: text of a string or integer claim, or of each such list element. */
function candidates(value: unknown): string[] {
  const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'boolean' ? String(v) : undefined);
  if (Array.isArray(value)) return value.map(one).filter((v): v is string => v !== undefined);
  const single = one(value);
  return single === undefined ? [] : [single];
}

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 's');
  return regex.test(value);
}

export function evaluateClaimRule(rule: ClaimRule, subject: RuleSubject): boolean {
  switch (rule.op) {
    case 'and':
      return evaluateClaimRule(rule.left, subject) && evaluateClaimRule(rule.right, subject);
    case 'or':
      return evaluateClaimRule(rule.left, subject) || evaluateClaimRule(rule.right, subject);
    case 'not':
      return !evaluateClaimRule(rule.operand, subject);
    case 'eq':
      return candidates(lookup(subject, rule.path)).includes(rule.value);
    case 'ne': {
      const values = candidates(lookup(subject, rule.path));
      return values.length > 0 && !values.includes(rule.value);
    }
    case 'matches':
      return candidates(lookup(subject, rule.path)).some((value) => globMatches(rule.value, value));
    case 'in': {
      const values = candidates(lookup(subject, rule.path));
      return values.some((value) => rule.values.includes(value));
    }
  }
}
