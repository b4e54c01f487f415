import { PolicyEngine } from '@gw/policy';
import { PreparedStatementTracker, SqlClassificationError, classifySql, loadSqlParser, type StatementClassification } from '@gw/sql';
import pino from 'pino';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { MysqlClassifier } from '@gw/sql-mysql';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { combineVerdicts, decideStatement, denialMessage, mergeApproval, principalFromGrant, type SessionPolicyContext } from './statement-policy.js';

const POLICY = `
@id("read")
@mask("email:partial")
permit (principal, action in Gateway::Action::"sql:read", resource);

@id("insert")
@mask_columns("public.customers.ssn:null")
permit (principal, action == Gateway::Action::"sql:insert", resource);

@id("delete-allowed")
permit (principal, action == Gateway::Action::"sql:delete", resource);

@id("no-delete-on-orders")
@reason("deleting orders is not allowed")
forbid (principal, action == Gateway::Action::"sql:delete", resource)
when { context has tablesWritten && context.tablesWritten.contains("orders") };

@id("update-approval")
@approval("required")
permit (principal, action == Gateway::Action::"sql:update", resource);
`;

const log = pino({ level: 'silent' });
const holder = new PolicyHolder(() => ({ version: 1, sha256: 'a', text: POLICY }), log);
const ctx: SessionPolicyContext = {
  principal: principalFromGrant({ id: 'iss#agent-1', kind: 'workload', issuer: 'iss', subject: 'agent-1', roles: [], groups: [], gatewayRoles: ['requester'] } as never),
  resource: { name: 'crm', type: 'postgres' },
  dbRole: 'app',
  sourceIp: '10.0.0.5',
};

function one(sql: string): StatementClassification {
  const [s, ...rest] = classifySql(sql);
  expect(rest).toHaveLength(0);
  return s!;
}

/** Decides a whole simple-protocol Query the way the session does: each statement, then combined. */
function decideQuery(sql: string) {
  return combineVerdicts(classifySql(sql).map((s) => decideStatement(holder, ctx, s)));
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('decideStatement', () => {
  it('allows a plain read and carries its masking obligation', () => {
    const v = decideStatement(holder, ctx, one('SELECT email FROM customers'));
    expect(v).toMatchObject({ effect: 'allow', policies: ['read'], masking: { entities: [{ entity: 'email', style: 'partial' }], columns: [] } });
  });

  it('evaluates every action of a statement: a SELECT with a DELETE CTE on orders is denied by the forbid', () => {
    const s = one('WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d');
    expect(s.kind).toBe('select');
    expect([...s.actions]).toEqual(['sql:delete', 'sql:select']);
    const v = decideStatement(holder, ctx, s);
    expect(v).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'], reasons: ['deleting orders is not allowed'] });
    expect(v.masking).toEqual({ entities: [], columns: [] });
  });

  it('a policy naming a bare table or function matches its qualified spellings too (Postgres and MySQL)', () => {
    for (const sql of ['DELETE FROM orders WHERE id = 1', 'DELETE FROM public.orders WHERE id = 1', 'DELETE FROM "public"."orders" WHERE id = 1', 'WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT 1']) {
      expect(decideStatement(holder, ctx, one(sql)), sql).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
    }
    const [mysqlDelete] = new MysqlClassifier().classify('DELETE FROM `shop`.`orders` WHERE id = 1', { backslashEscapes: true });
    expect(decideStatement(holder, ctx, mysqlDelete!)).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
    // Another table whose name only ends the same way is not matched.
    expect(decideStatement(holder, ctx, one('DELETE FROM public.orders_archive WHERE id = 1'))).toMatchObject({ effect: 'allow' });
    const functions = new PolicyHolder(() => ({ version: 1, sha256: 'f', text: `@id("read") permit (principal, action in Gateway::Action::"sql:read", resource);
@id("no-files") forbid (principal, action, resource) when { context has functions && context.functions.contains("pg_read_file") };` }), log);
    for (const sql of ["SELECT pg_read_file('/etc/passwd')", "SELECT pg_catalog.pg_read_file('/etc/passwd')"]) {
      expect(decideStatement(functions, ctx, one(sql)), sql).toMatchObject({ effect: 'deny', policies: ['no-files'] });
    }
  });

  it('asks the engine about each action, with the statement context', () => {
    const current = holder.current();
    if (!current.engine) throw new Error('policy should compile');
    const spy = vi.spyOn(current.engine, 'evaluate');
    try {
      decideStatement(holder, ctx, one('WITH i AS (INSERT INTO customers (ssn) VALUES ($1) RETURNING id) SELECT * FROM i, orders'));
      expect(spy.mock.calls.map(([input]) => input.action)).toEqual(['sql:insert', 'sql:select']);
      expect(spy.mock.calls[0]?.[0].context).toMatchObject({ statementKind: 'select', tables: ['customers', 'orders'], tablesWritten: ['customers'], readOnly: false, dbRole: 'app', sourceIp: '10.0.0.5' });
    } finally {
      spy.mockRestore();
    }
  });

  it('merges the masking obligations of all actions of one statement', () => {
    const v = decideStatement(holder, ctx, one('WITH i AS (INSERT INTO customers (ssn) VALUES (1) RETURNING *) SELECT * FROM i'));
    expect(v.effect).toBe('allow');
    expect(v.policies.sort()).toEqual(['insert', 'read']);
    expect(v.masking).toEqual({ entities: [{ entity: 'email', style: 'partial' }], columns: [{ table: 'public.customers', column: 'ssn', style: 'null' }] });
  });

  it('turns require_approval into a refusal message naming the policy', () => {
    const v = decideStatement(holder, ctx, one('UPDATE customers SET email = NULL'));
    expect(v).toMatchObject({ effect: 'require_approval', policies: ['update-approval'] });
    const message = denialMessage(v);
    expect(message).toContain('"update-approval"');
    expect(message).toMatch(/approval required.*denied$/);
  });

  it('carries the approval requirement of the policy (N, approvers, timeout) for the hold', () => {
    const v = decideStatement(holder, ctx, one('UPDATE customers SET email = NULL'));
    expect(v.approval).toMatchObject({ approvals: expect.any(Number) as unknown, approvers: expect.arrayContaining([expect.stringMatching(/^(role|group):/)]) as unknown });
  });

  it('merges several approval requirements: highest N, its approvers joined, shortest timeout', () => {
    expect(mergeApproval([])).toBeUndefined();
    expect(mergeApproval([
      { approvals: 1, approvers: ['role:admin'], timeoutSeconds: 600, view: 'unmasked' },
      { approvals: 2, approvers: ['group:dba'], view: 'unmasked' },
      { approvals: 2, approvers: ['role:approver', 'group:dba'], timeoutSeconds: 120, view: 'unmasked' },
    ])).toEqual({ approvals: 2, approvers: ['group:dba', 'role:approver'], timeoutSeconds: 120, view: 'unmasked' });
    expect(mergeApproval([{ approvals: 1, approvers: ['role:approver'], view: 'unmasked' }])).toEqual({ approvals: 1, approvers: ['role:approver'], view: 'unmasked' });
    // One statement of a Query whose policy keeps values from approvers keeps the whole Query's.
    expect(mergeApproval([
      { approvals: 1, approvers: ['role:approver'], view: 'unmasked' },
      { approvals: 1, approvers: ['role:approver'], view: 'masked' },
    ])?.view).toBe('masked');
  });

  it('denies a statement with no known action', () => {
    const v = decideStatement(holder, ctx, { ...one('SELECT 1'), actions: [] });
    expect(v.effect).toBe('deny');
  });

  it('counts a conversion to a user type as user code unless the session knows the type as safe (an enum)', () => {
    const engine = vi.spyOn(PolicyEngine.prototype, 'evaluate');
    try {
      const session: SessionPolicyContext = { ...ctx, safeUserTypes: new Set(['mood', 'public.mood']) };
      decideStatement(holder, session, one("SELECT 'happy'::mood, 'sad'::public.mood"));
      expect(engine.mock.calls.map(([input]) => input.action)).toEqual(['sql:select']);
      engine.mockClear();
      // A domain (not in the safe set), and any user type when the session knows none: procedural, and not read-only.
      for (const [statement, context] of [["SELECT '1'::checked", session], ["SELECT 'happy'::mood", { ...ctx }]] as const) {
        decideStatement(holder, context, one(statement));
        expect(engine.mock.calls.map(([input]) => input.action).sort()).toEqual(['sql:procedural', 'sql:select']);
        expect(engine.mock.calls.every(([input]) => input.context['readOnly'] === false)).toBe(true);
        engine.mockClear();
      }
    } finally {
      engine.mockRestore();
    }
  });
});

describe('calls to functions', () => {
  it("counts a call qualified with any schema but pg_catalog and information_schema as user code (pgJDBC's getPrimaryKeys calls information_schema._pg_expandarray)", () => {
    const engine = vi.spyOn(PolicyEngine.prototype, 'evaluate');
    try {
      const actions = (sql: string) => {
        engine.mockClear();
        decideStatement(holder, ctx, one(sql));
        return engine.mock.calls.map(([input]) => input.action).sort();
      };
      expect(actions('SELECT (information_schema._pg_expandarray(i.indkey)).n FROM pg_catalog.pg_index i')).toEqual(['sql:select']);
      expect(actions('SELECT pg_catalog.lower(email) FROM customers')).toEqual(['sql:select']);
      expect(actions('SELECT public.lower(email) FROM customers')).toEqual(['sql:procedural', 'sql:select']);
      expect(actions('SELECT audit.touch(1)')).toEqual(['sql:procedural', 'sql:select']);
    } finally {
      engine.mockRestore();
    }
  });
});

describe('remembered verdicts', () => {
  it('reuse the decision for statements that differ only in literals, and not after a policy change', () => {
    let snapshot = { version: 1, sha256: 'a', text: POLICY };
    const live = new PolicyHolder(() => snapshot, log);
    const session: SessionPolicyContext = { ...ctx };
    const first = decideStatement(live, session, one('DELETE FROM customers WHERE id = 1'));
    expect(first).toMatchObject({ effect: 'allow', policies: ['delete-allowed'] });
    first.policies.push('changed by a caller');
    expect(decideStatement(live, session, one('DELETE FROM customers WHERE id = 2'))).toMatchObject({ effect: 'allow', policies: ['delete-allowed'] });
    snapshot = { version: 2, sha256: 'b', text: POLICY.replace('permit (principal, action == Gateway::Action::"sql:delete"', 'forbid (principal, action == Gateway::Action::"sql:delete"') };
    expect(decideStatement(live, session, one('DELETE FROM customers WHERE id = 3'))).toMatchObject({ effect: 'deny', policies: ['delete-allowed'] });
    // A different table is a different classification: decided on its own.
    expect(decideStatement(holder, { ...ctx }, one('DELETE FROM orders WHERE id = 3'))).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
  });

  it('never takes one shape\'s verdict for a classification that shares its actions list but not its tables', () => {
    const session: SessionPolicyContext = { ...ctx };
    const customers = one('DELETE FROM customers WHERE id = 1');
    expect(decideStatement(holder, session, customers)).toMatchObject({ effect: 'allow' });
    // Same frozen actions list (as a resolved EXECUTE or a hand-built classification could carry).
    const orders: StatementClassification = Object.freeze({ ...customers, tablesWritten: Object.freeze(['orders']), tablesRead: Object.freeze(['orders']) });
    expect(orders.actions).toBe(customers.actions);
    expect(decideStatement(holder, session, orders)).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
    // A list that is not frozen could change after the key was made: it is never remembered by identity.
    const tables = ['customers'];
    const mutable: StatementClassification = { ...customers, actions: [...customers.actions], tablesWritten: tables, tablesRead: tables };
    expect(decideStatement(holder, session, mutable)).toMatchObject({ effect: 'allow' });
    tables[0] = 'orders';
    expect(decideStatement(holder, session, mutable)).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
  });
});

describe('values kept beyond the result', () => {
  const masked = new PolicyHolder(
    () => ({
      version: 1,
      sha256: 'm',
      text: `@id("masked-read") @mask("email:partial, ssn:full") @mask_columns("customers.balance:null")
        permit (principal, action in [Gateway::Action::"sql:read", Gateway::Action::"sql:session"], resource);`,
    }),
    log,
  );
  const writes = new PolicyHolder(
    () => ({
      version: 1,
      sha256: 'w',
      text: `@id("masked-write") @mask("email:partial, ssn:full") @mask_columns("customers.balance:null")
        permit (principal, action in [Gateway::Action::"sql:read", Gateway::Action::"sql:insert", Gateway::Action::"sql:update"], resource);`,
    }),
    log,
  );
  const mysql = new MysqlClassifier();
  const decide = (s: StatementClassification) => decideStatement(masked, { ...ctx }, s);

  it('refuses a setting or a notification made of a column masked by a rule or by its name, naming the policy and the column', () => {
    const setting = decide(one("SELECT set_config('my.v', balance::text, false) FROM customers"));
    expect(setting).toMatchObject({ effect: 'deny', policies: ['masked-read'] });
    expect(denialMessage(setting)).toBe(
      'denied by policy "masked-read": the statement would keep a value of column balance, which policy masks, beyond its result (in a setting), where the masking cannot follow it',
    );
    expect(decide(one("SELECT pg_catalog.set_config('my.v', (SELECT ssn FROM people LIMIT 1), false)"))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('column ssn')] });
    expect(decide(one("SELECT pg_notify('ch', balance::text) FROM customers"))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('(in a notification)')] });
  });

  it('refuses keeping a reshaped value of a column named for a masked entity; the value as it is keeps its shape and may be kept', () => {
    const my = (text: string) => decide(mysql.classify(text)[0]!);
    const write = (text: string) => decideStatement(writes, { ...ctx }, one(text));
    expect(decide(one("SELECT set_config('application_name', replace(email, '@', '#'), false) FROM customers"))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('column email')] });
    expect(write("UPDATE customers SET note = translate(email, 'abc', 'xyz') WHERE id = 1")).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('(in a table)')] });
    expect(write("INSERT INTO notes (body) SELECT split_part(email, '@', 1) FROM customers")).toMatchObject({ effect: 'deny' });
    expect(my("SELECT REPLACE(email, '@', '#') INTO @e FROM customers LIMIT 1")).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('in a user variable')] });
    // A call's arguments count as computed: set_config(..., email, ...) itself is refused too.
    expect(decide(one("SELECT set_config('application_name', email, false) FROM customers")).effect).toBe('deny');
    expect(write('UPDATE customers SET note = email WHERE id = 1').effect).toBe('allow');
    expect(write("UPDATE customers SET note = 'x' WHERE email LIKE '%@example.com'").effect).toBe('allow');
  });

  it('lets through what keeps no masked column: a setting of constants, or of a column masking does not know by name', () => {
    expect(decide(one("SELECT set_config('application_name', 'job-7', false)")).effect).toBe('allow');
    expect(decide(one("SELECT set_config('my.id', id::text, false) FROM customers")).effect).toBe('allow');
    expect(decide(one('SELECT balance FROM customers')).effect).toBe('allow');
  });

  it('refuses MySQL user variables assigned from a ruled, a name-hinted or a star column, and allows the rest', () => {
    const my = (text: string) => decide(mysql.classify(text)[0]!);
    for (const text of ['SELECT balance INTO @b FROM customers', 'SET @b = (SELECT balance FROM customers LIMIT 1)', 'SELECT @b := balance FROM customers', 'SELECT ssn INTO @s FROM people', 'SELECT * INTO @a, @b FROM customers LIMIT 1']) {
      expect(my(text), text).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('in a user variable')] });
    }
    expect(my('SELECT id INTO @id FROM customers LIMIT 1').effect).toBe('allow');
    expect(my('SET @OLD_SQL_MODE = @@SQL_MODE').effect).toBe('allow');
    expect(my('SELECT @b').effect).toBe('allow');
  });

  it('refuses a write that stores a masked column\'s value in a table, not one that only looks rows up by it', () => {
    expect(decideStatement(writes, { ...ctx }, one('UPDATE customers SET note = balance::text WHERE id = 1'))).toMatchObject({
      effect: 'deny',
      policies: ['masked-write'],
      reasons: ['the statement would keep a value of column balance, which policy masks, beyond its result (in a table), where the masking cannot follow it'],
    });
    expect(decideStatement(writes, { ...ctx }, one('INSERT INTO notes (body) SELECT ssn FROM people'))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('column ssn')] });
    expect(decideStatement(writes, { ...ctx }, one('INSERT INTO archive SELECT * FROM customers'))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('every column (*)')] });
    expect(decideStatement(writes, { ...ctx }, one("UPDATE customers SET note = 'checked' WHERE ssn = '536-22-4971'")).effect).toBe('allow');
    expect(decideStatement(writes, { ...ctx }, one('INSERT INTO notes (body) SELECT email FROM customers')).effect).toBe('allow');
    const mine = mysql.classify('UPDATE customers SET note = balance WHERE id = 1')[0]!;
    expect(decideStatement(writes, { ...ctx }, mine)).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('in a table')] });
  });

  it('holds a write to the masking of reading what it copies, when the permit for the write masks nothing', () => {
    const split = new PolicyHolder(
      () => ({
        version: 1,
        sha256: 's',
        text: `@id("masked-read") @mask_columns("customers.balance:null") permit (principal, action in Gateway::Action::"sql:read", resource);
          @id("plain-write") permit (principal, action == Gateway::Action::"sql:update", resource);`,
      }),
      log,
    );
    expect(decideStatement(split, { ...ctx }, one('UPDATE customers SET note = balance::text'))).toMatchObject({ effect: 'deny', policies: ['masked-read'], reasons: [expect.stringContaining('column balance')] });
    expect(decideStatement(split, { ...ctx }, one("UPDATE customers SET note = 'x' WHERE balance > 10")).effect).toBe('allow');
  });

  it('refuses a COPY TO of columns under a column rule (its rows carry no column names), not of others', () => {
    expect(denialMessage(decide(one('COPY customers TO STDOUT')))).toBe(
      'denied by policy "masked-read": COPY output carries no column names, so the column rules that apply to it cannot be applied; read it with SELECT',
    );
    expect(decide(one('COPY customers (id, balance) TO STDOUT')).effect).toBe('deny');
    expect(decide(one('COPY (SELECT balance * 2 FROM customers) TO STDOUT WITH (FORMAT csv)')).effect).toBe('deny');
    expect(decide(one('COPY (SELECT id, email FROM customers) TO STDOUT')).effect).toBe('allow');
    expect(decide(one('COPY orders TO STDOUT')).effect).toBe('allow');
  });

  it('refuses the statistics\' sampled values under masking, not their other columns', () => {
    const denial = decide(one("SELECT attname, histogram_bounds FROM pg_stats WHERE tablename = 'customers'"));
    expect(denialMessage(denial)).toBe('denied by policy "masked-read": pg_stats holds samples of column values, which masking cannot tell apart by column; read its other columns');
    expect(decide(one('SELECT * FROM pg_catalog.pg_stats')).effect).toBe('deny');
    expect(decide(one('SELECT s FROM pg_stats s')).effect).toBe('deny');
    expect(decide(one('SELECT most_common_vals FROM pg_stats_ext')).effect).toBe('deny');
    expect(decide(mysql.classify('SELECT HISTOGRAM FROM information_schema.COLUMN_STATISTICS')[0]!).effect).toBe('deny');
    expect(decide(one("SELECT attname, n_distinct, null_frac FROM pg_stats WHERE tablename = 'customers'")).effect).toBe('allow');
    // A table of one's own that happens to share the name is not the catalog's.
    expect(decide(one('SELECT histogram_bounds FROM app.pg_stats')).effect).toBe('allow');
    // Without masking there is nothing to protect.
    const unmasked = new PolicyHolder(() => ({ version: 1, sha256: 'u', text: '@id("plain-read") permit (principal, action in Gateway::Action::"sql:read", resource);' }), log);
    expect(decideStatement(unmasked, { ...ctx }, one('SELECT histogram_bounds FROM pg_stats')).effect).toBe('allow');
  });

  it('never takes a remembered verdict of the same shape without the variable for one with it', () => {
    const session: SessionPolicyContext = { ...ctx };
    const plain = one('SELECT balance FROM customers');
    expect(decideStatement(masked, session, plain).effect).toBe('allow');
    // Same frozen lists (the memo finds a shape by them), one field more.
    expect(decideStatement(masked, session, Object.freeze({ ...plain, storesUserVariables: true })).effect).toBe('deny');
    expect(decideStatement(masked, session, plain).effect).toBe('allow');
  });
});

describe('classification failure', () => {
  it('is a SqlClassificationError the session turns into a deny (never a pass-through)', () => {
    expect(() => classifySql('SELEC * FROM customers')).toThrow(SqlClassificationError);
  });
});

describe('a multi-statement Query', () => {
  it('is denied as a whole when one statement is denied, naming that statement policy', () => {
    const v = decideQuery('SELECT 1; DELETE FROM orders; SELECT 2');
    expect(v).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
    expect(denialMessage(v)).toBe('denied by policy "no-delete-on-orders": deleting orders is not allowed');
  });

  it('is refused when one statement needs approval, even if the others are allowed', () => {
    const v = decideQuery('SELECT 1; UPDATE customers SET email = NULL');
    expect(v.effect).toBe('require_approval');
    expect(denialMessage(v)).toContain('"update-approval"');
  });

  it('a deny wins over an approval anywhere in the Query', () => {
    expect(decideQuery('UPDATE customers SET email = NULL; DELETE FROM orders').effect).toBe('deny');
  });

  it('merges masking obligations across its statements', () => {
    const v = decideQuery('SELECT email FROM customers; INSERT INTO customers (ssn) VALUES (1)');
    expect(v.effect).toBe('allow');
    expect(v.masking).toEqual({ entities: [{ entity: 'email', style: 'partial' }], columns: [{ table: 'public.customers', column: 'ssn', style: 'null' }] });
    expect(v.policies.sort()).toEqual(['insert', 'read']);
  });
});

describe('EXECUTE through the prepared statement tracker', () => {
  it('is decided on what was prepared, not on the placeholder', () => {
    const tracker = new PreparedStatementTracker();
    const [prepRead, execRead] = classifySql('PREPARE r AS SELECT email FROM customers; EXECUTE r');
    tracker.observe(prepRead!);
    // Unresolved, EXECUTE is a fail-closed sql:admin placeholder, which this policy does not permit.
    expect(decideStatement(holder, ctx, execRead!).effect).toBe('deny');
    const resolved = tracker.resolve(execRead!);
    expect(decideStatement(holder, ctx, resolved)).toMatchObject({ effect: 'allow', masking: { entities: [{ entity: 'email', style: 'partial' }] } });

    const [prepDel, execDel] = classifySql('PREPARE d AS DELETE FROM orders; EXECUTE d');
    tracker.observe(prepDel!);
    expect(decideStatement(holder, ctx, tracker.resolve(execDel!))).toMatchObject({ effect: 'deny', policies: ['no-delete-on-orders'] });
  });

  it('an EXECUTE of an unknown name cannot be resolved (the session denies it)', () => {
    const tracker = new PreparedStatementTracker();
    expect(() => tracker.resolve(one('EXECUTE nope'))).toThrow(SqlClassificationError);
  });
});

describe('fail closed without a usable policy', () => {
  it('denies every statement when no snapshot was received', () => {
    const none = new PolicyHolder(() => undefined, log);
    expect(decideStatement(none, ctx, one('SELECT 1'))).toMatchObject({ effect: 'deny', reasons: [expect.stringContaining('no policy received')] });
  });

  it('compiles real Cedar text (sanity: the fixture is valid)', () => {
    expect(() => PolicyEngine.compile(POLICY)).not.toThrow();
  });
});
