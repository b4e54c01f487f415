import { describe, expect, it } from 'vitest';
import { viewColumns } from '@gw/sql-mysql';
import { followViewColumn, type ViewLineage } from './view-masking.js';

function lineage(definition: string, tables: string[]): ViewLineage {
  const columns = viewColumns(definition)!;
  return { tables, columns: [], opaque: false, columnsByName: new Map(columns.map((c) => [c.name, c])) };
}

describe('followViewColumn', () => {
  const views = new Map<string, ViewLineage>([
    ['people_v', lineage('select `d`.`customers`.`id` AS `id`,`d`.`customers`.`name` AS `who`,upper(`d`.`customers`.`name`) AS `shout` from `d`.`customers`', ['customers'])],
    ['people_v2', lineage('select `people_v`.`who` AS `who`,`people_v`.`id` + 1 AS `n`,`people_v`.`shout` AS `shout` from `d`.`people_v`', ['customers'])],
    ['opaque_v', { tables: ['customers'], columns: [], opaque: true }],
  ]);

  it('follows a column through views on views to the base column', () => {
    expect(followViewColumn(views, 'people_v2', 'WHO')).toEqual({ column: { table: 'customers', column: 'name' }, references: ['customers.name'] });
    expect(followViewColumn(views, 'd.people_v', 'id')?.column).toEqual({ table: 'customers', column: 'id' });
  });

  it('gives a computed column the base columns it is computed from, also through a renaming view', () => {
    expect(followViewColumn(views, 'people_v2', 'n')).toEqual({ references: ['customers.id'] });
    expect(followViewColumn(views, 'people_v2', 'shout')).toEqual({ references: ['customers.name'] });
  });

  it('knows nothing of unknown views and columns, and of views whose columns were not followed', () => {
    expect(followViewColumn(views, 'people_v', 'nope')).toBeUndefined();
    expect(followViewColumn(views, 'customers', 'id')).toBeUndefined();
    expect(followViewColumn(views, 'opaque_v', 'id')).toBeUndefined();
  });
});
