import type { ColumnRef } from '@gw/masking';
import type pg from 'pg';

/** Most tables remembered per session. */
const MAX_TABLES = 2000;

/**
 * Resolves RowDescription's (table OID, attribute number) to `schema.table` and the column name,
 * through the agent's admin connection, cached per session. Unknown OIDs resolve to the field's own
 * name without a table (column rules on `*.column` still apply).
 */
export class ColumnCatalog {
  private readonly tables = new Map<number, { table: string; columns: Map<number, string> } | null>();

  constructor(private readonly admin: pg.Pool | undefined) {}

  missing(tableOids: Iterable<number>): number[] {
    const out = new Set<number>();
    for (const oid of tableOids) if (oid !== 0 && !this.tables.has(oid)) out.add(oid);
    return [...out];
  }

  async load(tableOids: readonly number[]): Promise<void> {
    if (tableOids.length === 0 || !this.admin) return;
    if (this.tables.size + tableOids.length > MAX_TABLES) this.tables.clear();
    const { rows } = await this.admin.query<{ oid: number; nspname: string; relname: string; attnum: number; attname: string }>(
      `SELECT c.oid::int AS oid, n.nspname, c.relname, a.attnum::int AS attnum, a.attname
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.oid = ANY($1::oid[])`,
      [tableOids],
    );
    for (const oid of tableOids) this.tables.set(oid, null);
    for (const r of rows) {
      let entry = this.tables.get(r.oid);
      if (!entry) {
        entry = { table: `${r.nspname}.${r.relname}`, columns: new Map() };
        this.tables.set(r.oid, entry);
      }
      entry.columns.set(r.attnum, r.attname);
    }
  }

  resolve(tableOid: number, attnum: number, fieldName: string): ColumnRef {
    const entry = this.tables.get(tableOid);
    const column = entry?.columns.get(attnum);
    if (!entry || column === undefined) return { column: fieldName };
    return { table: entry.table, column };
  }
}
