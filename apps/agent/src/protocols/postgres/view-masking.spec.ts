import { describe, expect, it } from 'vitest';
import { viewColumns } from '@gw/sql-mysql';
import { followViewColumn, type ViewLineage } from './view-masking.js';

function lineage(definition: string, tables: string[], schema = 'd'): ViewLineage {
  const columns = viewColumns(definition)!;
  return { tables, columns: [], opaque: false, schema, columnsByName: new Map(columns.map((c) => [c.name, c])) };
}

describe('followViewColumn', () => {
  const views = new Map<string, ViewLineage>([
    ['people_v', lineage('select `d`.`customers`.`id` AS `id`,`d`.`customers`.`name` AS `who`,upper(`d`.`customers`.`name`) AS `shout` from `d`.`customers`', ['customers'])],
    ['people_v2', lineage('select `people_v`.`who` AS `who`,`people_v`.`id` + 1 AS `n`,`people_v`.`shout` AS `shout` from `d`.`people_v`', ['customers'])],
    // Reads a base table `other.people_v`, not the view `d.people_v` of the same name.
    ['elsewhere_v', lineage('select `p`.`ssn` AS `id` from `other`.`people_v` `p`', ['people_v'])],
    ['opaque_v', { tables: ['customers'], columns: [], opaque: true }],
  ]);

  it('follows a column through views on views to the base column', () => {
    expect(followViewColumn(views, 'people_v2', 'WHO')).toEqual({ column: { table: 'd.customers', column: 'name' }, references: ['d.customers.name'] });
    expect(followViewColumn(views, 'd.people_v', 'id')?.column).toEqual({ table: 'd.customers', column: 'id' });
  });

  it('gives a computed column the base columns it is computed from, also through a renaming view', () => {
    expect(followViewColumn(views, 'people_v2', 'n')).toEqual({ references: ['d.customers.id'] });
    expect(followViewColumn(views, 'people_v2', 'shout')).toEqual({ references: ['d.customers.name'] });
  });

  it('takes a table in another schema for the base table it is, though a view has its name', () => {
    expect(followViewColumn(views, 'elsewhere_v', 'id')).toEqual({ column: { table: 'other.people_v', column: 'ssn' }, references: ['other.people_v.ssn'] });
  });

  it('knows nothing of unknown views and columns, and of views whose columns were not followed', () => {
    expect(followViewColumn(views, 'people_v', 'nope')).toBeUndefined();
    expect(followViewColumn(views, 'customers', 'id')).toBeUndefined();
    expect(followViewColumn(views, 'opaque_v', 'id')).toBeUndefined();
  });
});
