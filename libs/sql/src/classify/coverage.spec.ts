import { beforeAll, describe, expect, it } from 'vitest';

import { SQL_ACTIONS } from '../actions.js';
import { loadSqlParser } from '../parser/load.js';
import { SqlClassifier } from './classifier.js';

/**
 * Valid SQL across the grammar. Failing closed must not mean failing on ordinary SQL: each of these must
 * classify (no UNKNOWN_NODE / MALFORMED_TREE) and need at least one action.
 */
const VALID_SQL = [
  "select json_build_object('a', 1), jsonb_path_query(x, '$.a') from t",
  "select json_object('a': 1), json_array(1,2), json_arrayagg(a), json_objectagg(k: v) from t",
  "select * from json_table('[1]'::json, '$[*]' columns (a int path '$')) jt",
  "select json_value(j, '$.a' returning int default 0 on empty), json_query(j, '$'), json_exists(j, '$.a'), j is json object from t",
  "select json_scalar(1), json_serialize('{}' returning bytea), json('{}')",
  'select xmlelement(name a, xmlattributes(1 as b)), xmlserialize(content x as text) from t',
  "select * from xmltable('/a' passing x columns b int path 'b') xt",
  'select sum(a) over (partition by b order by c rows between unbounded preceding and current row) from t',
  'select a, b, count(*) from t group by grouping sets ((a),(b),()) having grouping(a) = 0',
  'select a from t group by rollup (a), cube (b)',
  'select percentile_cont(0.5) within group (order by a) filter (where a > 0) from t',
  'select * from t tablesample bernoulli (10) repeatable (1)',
  'select * from t, lateral (select * from u where u.id = t.id) l',
  'select * from generate_series(1,10) with ordinality as g(n, i)',
  'select * from rows from (generate_series(1,2), generate_series(1,3))',
  "select case when a then 1 else 2 end, coalesce(a,b), nullif(a,b), greatest(a,b), a is distinct from b, a between 1 and 2, a in (1,2), a like 'x%', (array[1,2])[1], (row(1,2)).f1, current_date, current_user, cast(a as int), a::text collate \"C\" from t",
  "select substring(a from 1 for 2), trim(both 'x' from a), position('a' in b), overlay(a placing 'b' from 1), extract(year from now()) from t",
  'select exists(select 1), a = any(array[1]), a > all(select b from u) from t',
  'select * from t where (a, b) > (1, 2) and a is not null and b is true',
  'select a is json, normalize(a), a is nfc normalized from t',
  "select $$a$$, $q$b$q$, U&'\\0041', B'101', X'FF', 1e10, .5",
  "select 'a' || 'b' operator(pg_catalog.||) 'c'",
  'select distinct on (a) a from t order by a using <',
  'select 1 union select 2 intersect select 3 except select 4',
  'with x as materialized (select 1 as a) search depth first by a set o select * from x',
  'with recursive x(a) as (select 1 union all select a+1 from x) cycle a set is_cycle using path select * from x',
  'select merge_action() from t',
  'insert into t default values',
  'insert into t (a) overriding system value values (1)',
  'update t set (a, b) = (select 1, 2) where current of c',
  'merge into t using (select 1 as id) s on t.id = s.id when not matched by source then delete',
  'create table p (id int, d date, primary key (id, d)) partition by range (d)',
  "create table p1 partition of p for values from ('2024-01-01') to ('2025-01-01')",
  "alter table p attach partition p2 for values from ('2025-01-01') to ('2026-01-01')",
  'create table c (like p including all, check (id > 0), foreign key (id) references q(id))',
  "create index concurrently if not exists i on t using gin (to_tsvector('english', body)) where a > 1",
  'create materialized view mv as select * from t with no data',
  'create schema s create table x (a int) create view v as select * from x',
  'create trigger tr before insert on t for each row execute function f()',
  'create policy p on t for select using (owner = current_user)',
  'create statistics st (dependencies) on a, b from t',
  "create function f(a int default 1, out b int, variadic c int[]) returns setof record language sql immutable strict parallel safe cost 1 rows 10 set search_path = x as 'select 1'",
  'create procedure pr() begin atomic insert into t values (1); end',
  'create aggregate agg(int) (sfunc = f, stype = int)',
  'create operator === (leftarg = int, rightarg = int, function = f)',
  'create text search configuration c (copy = english)',
  "create cast (int as text) with function f(int)",
  'declare c scroll cursor with hold for select 1',
  'fetch next from c',
  'move 1 in c',
  'close c',
  "prepare transaction 'x'",
  'set constraints all deferred',
  'reindex table t',
  'cluster t using i',
  'vacuum (verbose, analyze) t (a)',
  "security label for selinux on table t is 'x'",
  'alter default privileges grant select on tables to bob',
  'create event trigger et on ddl_command_start execute function f()',
  'alter function f() security definer',
  "alter role bob with password 'x'",
  'create rule r as on select to t do instead select 1',
  'explain (format json, costs off) select 1',
  'discard temp',
  'unlisten *',
];

describe('coverage of valid SQL', () => {
  const classifier = new SqlClassifier();
  beforeAll(loadSqlParser);

  it.each(VALID_SQL)('%s', (sql) => {
    const statements = classifier.classify(sql);
    expect(statements).toHaveLength(1);
    expect(statements[0]?.actions.length).toBeGreaterThan(0);
    for (const action of statements[0]?.actions ?? []) expect(SQL_ACTIONS).toContain(action);
  });
});
