import { describe, expect, it } from 'vitest';
import { viewColumns } from './view-columns.js';

// Definitions as MariaDB keeps them in information_schema.VIEWS (every column qualified, named with AS).
describe('viewColumns', () => {
  it('follows a renamed column to the column behind it', () => {
    const columns = viewColumns('select `vt`.`customers`.`id` AS `id`,`vt`.`customers`.`name` AS `who` from `vt`.`customers`');
    expect(columns).toEqual([
      { name: 'id', column: { table: 'vt.customers', column: 'id' }, references: ['vt.customers.id'] },
      { name: 'who', column: { table: 'vt.customers', column: 'name' }, references: ['vt.customers.name'] },
    ]);
  });

  it('resolves table aliases', () => {
    const columns = viewColumns('select `c`.`ssn` AS `s` from `vt`.`customers` `c`');
    expect(columns?.[0]?.column).toEqual({ table: 'vt.customers', column: 'ssn' });
  });

  it('resolves a correlated subquery through the outer FROM and a CTE to what it reads', () => {
    const columns = viewColumns(
      'with `w` as (select `vt`.`pay`.`salary` AS `s`,`vt`.`pay`.`id` AS `id` from `vt`.`pay`) select `c`.`id` AS `id`,(select `w`.`s` from `w` where `w`.`id` = `c`.`id`) AS `s` from `vt`.`customers` `c`',
    );
    expect(columns?.[0]?.column).toBeUndefined(); // a CTE's text counts for every column: computed
    expect(columns?.[1]?.references).toEqual(expect.arrayContaining(['vt.pay.salary', 'vt.customers.id']));
  });

  it('names every column an expression or a subquery computes from', () => {
    const columns = viewColumns(
      "select concat(`vt`.`customers`.`email`,'x') AS `e`,(select max(`c2`.`ssn`) from `vt`.`customers` `c2`) AS `s`,`vt`.`customers`.`id` + 1 AS `n` from `vt`.`customers`",
    );
    expect(columns?.map((c) => [c.name, c.column, c.references])).toEqual([
      ['e', undefined, ['vt.customers.email']],
      ['s', undefined, ['vt.customers.ssn']],
      ['n', undefined, ['vt.customers.id']],
    ]);
  });

  it('takes a column of a derived table as computed from everything the derived table reads', () => {
    const columns = viewColumns('select `d`.`x` AS `x` from (select `vt`.`pay`.`salary` AS `x` from `vt`.`pay`) `d`');
    expect(columns?.[0]?.column).toBeUndefined();
    expect(columns?.[0]?.references).toContain('vt.pay.salary');
  });

  it('takes a column of a union from every branch', () => {
    const columns = viewColumns('select `vt`.`a`.`id` AS `id` from `vt`.`a` union select `vt`.`b`.`ssn` AS `ssn` from `vt`.`b`');
    expect(columns?.[0]).toEqual({ name: 'id', references: ['vt.a.id', 'vt.b.ssn'] });
  });

  it('gives up on what it cannot follow', () => {
    expect(viewColumns('select * from customers')).toBeUndefined();
    // A qualifier that names no relation in scope: the definition was not read as the server reads it.
    expect(viewColumns('select `x`.`ssn` AS `id` from `vt`.`customers` `c`')).toBeUndefined();
    // Nested joins the parser cannot read.
    expect(viewColumns('select `c`.`id` AS `id` from ((`vt`.`customers` `c` join `vt`.`t2` `x` on(1)) join `vt`.`t3` `y` on(1))')).toBeUndefined();
    expect(viewColumns('not sql at all')).toBeUndefined();
    expect(viewColumns('select 1 AS `a`; select 2 AS `b`')).toBeUndefined();
  });
});
