import { beforeAll, describe, expect, it } from 'vitest';

import { loadSqlParser } from './parser/load.js';
import { viewColumnLineage } from './view-lineage.js';

describe('viewColumnLineage', () => {
  beforeAll(loadSqlParser);

  it('traces pass-through, renamed and computed columns to their relations through aliases', () => {
    // As pg_get_viewdef writes it.
    const lineage = viewColumnLineage(` SELECT c.id,
    c.notes AS n,
    upper(c.name) AS u,
    o.notes
   FROM (vt.customers c
     JOIN vt.orders o ON ((o.customer_id = c.id)))
  WHERE (c.ssn IS NOT NULL);`);
    expect(lineage).toEqual([
      { direct: true, sources: [{ relation: 'vt.customers', column: 'id' }], opaque: false },
      { direct: true, sources: [{ relation: 'vt.customers', column: 'notes' }], opaque: false },
      { direct: false, sources: [{ relation: 'vt.customers', column: 'name' }], opaque: false },
      { direct: true, sources: [{ relation: 'vt.orders', column: 'notes' }], opaque: false },
    ]);
  });

  it('marks what names cannot trace as opaque: subquery columns, whole rows, stars', () => {
    const lineage = viewColumnLineage(`SELECT v1.n AS nn, s.x, row_to_json(c) AS j, (SELECT count(*) FROM t) AS k, ssn
      FROM v1, (SELECT customers.ssn AS x FROM customers) s, customers c`);
    expect(lineage.map((l) => l.opaque)).toEqual([false, true, true, false, false]);
    expect(lineage[0]).toEqual({ direct: true, sources: [{ relation: 'v1', column: 'n' }], opaque: false });
    expect(lineage[4]).toEqual({ direct: true, sources: [{ column: 'ssn' }], opaque: false });
  });

  it('merges the branches of a UNION column by column', () => {
    const lineage = viewColumnLineage('SELECT a.email FROM a UNION ALL SELECT b.contact FROM b');
    expect(lineage).toEqual([
      { direct: false, sources: [{ relation: 'a', column: 'email' }, { relation: 'b', column: 'contact' }], opaque: false },
    ]);
  });

  it('lists every relation an alias used in two scopes could mean', () => {
    const [first] = viewColumnLineage('SELECT (SELECT x.ssn FROM customers x LIMIT 1) AS s FROM orders x');
    expect(first?.sources).toEqual([
      { relation: 'customers', column: 'ssn' },
      { relation: 'orders', column: 'ssn' },
    ]);
  });
});
