import type { ColumnRef } from '@gw/masking';
import { viewColumnLineage, type ViewColumnLineage } from '@gw/sql';
import type pg from 'pg';

/** Most relations remembered per session. */
const MAX_TABLES = 2000;
/** Views defined on views are followed this deep; deeper ones count as derived from all they use. */
const MAX_VIEW_DEPTH = 8;

/** A result column resolved for masking. */
export interface ResolvedColumn extends ColumnRef {
  /** Set when the column was resolved through a view: the view's own column (its rules apply too). */
  readonly view?: ColumnRef;
  /**
   * Set for a view column that is not a plain pass-through of one table column: the table columns it
   * may be computed from (masked whole, in the strongest style of the rules on them).
   */
  readonly derivedFrom?: readonly ColumnRef[];
}

interface Relation {
  readonly table: string;
  readonly columns: Map<number, string>;
  /** Views and materialized views: the definition's lineage and the (relation OID, attnum) pairs it uses. */
  view?: { lineage: ViewColumnLineage[] | undefined; uses: { oid: number; attnum: number }[] };
}

/** What a view column comes down to in tables: one column passed through, or a set it is derived from. */
type Origin = { direct: ColumnRef } | { derived: ColumnRef[] };

/**
 * Resolves RowDescription's (table OID, attribute number) to `schema.table` and the column name,
 * through the agent's admin connection, cached per session. Unknown OIDs resolve to the field's own
 * name without a table (column rules on `*.column` still apply).
 *
 * Views (and materialized views) are looked through, so a column rule on `customers.ssn` also holds
 * for `SELECT * FROM customer_view`: the view's definition (pg_get_viewdef, parsed) says which of the
 * columns it depends on (pg_depend) each output column comes from; a renamed pass-through keeps the
 * rule's own style, anything computed is masked whole, and what names cannot trace counts as derived
 * from every column the view uses.
 */
export class ColumnCatalog {
  private readonly relations = new Map<number, Relation | null>();
  /** View OIDs by relation name as written in queries, for statements that compute over views. */
  private readonly viewsByName = new Map<string, number[]>();

  constructor(private readonly admin: pg.Pool | undefined) {}

  missing(tableOids: Iterable<number>): number[] {
    const out = new Set<number>();
    for (const oid of tableOids) if (oid !== 0 && !this.relations.has(oid)) out.add(oid);
    return [...out];
  }

  async load(tableOids: readonly number[], depth = 0): Promise<void> {
    if (tableOids.length === 0 || !this.admin) return;
    if (this.relations.size + tableOids.length > MAX_TABLES) this.relations.clear();
    const { rows } = await this.admin.query<{ oid: number; nspname: string; relname: string; relkind: string; attnum: number; attname: string }>(
      `SELECT c.oid::int AS oid, n.nspname, c.relname, c.relkind::text AS relkind, a.attnum::int AS attnum, a.attname
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.oid = ANY($1::oid[])`,
      [tableOids],
    );
    for (const oid of tableOids) this.relations.set(oid, null);
    const views: number[] = [];
    for (const r of rows) {
      let entry = this.relations.get(r.oid);
      if (!entry) {
        entry = { table: `${r.nspname}.${r.relname}`, columns: new Map() };
        this.relations.set(r.oid, entry);
        if (r.relkind === 'v' || r.relkind === 'm') views.push(r.oid);
      }
      entry.columns.set(r.attnum, r.attname);
    }
    if (views.length > 0) await this.loadViews(views, depth);
  }

  private async loadViews(views: number[], depth: number): Promise<void> {
    const admin = this.admin!;
    const [definitions, uses] = await Promise.all([
      admin.query<{ oid: number; definition: string | null }>(`SELECT c.oid::int AS oid, pg_get_viewdef(c.oid) AS definition FROM pg_class c WHERE c.oid = ANY($1::oid[])`, [views]),
      admin.query<{ view: number; oid: number; attnum: number }>(
        `SELECT r.ev_class::int AS view, d.refobjid::int AS oid, d.refobjsubid::int AS attnum
           FROM pg_rewrite r
           JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
          WHERE r.ev_class = ANY($1::oid[]) AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> r.ev_class`,
        [views],
      ),
    ]);
    for (const oid of views) {
      const entry = this.relations.get(oid);
      if (!entry) continue;
      const definition = definitions.rows.find((d) => d.oid === oid)?.definition;
      let lineage: ViewColumnLineage[] | undefined;
      try {
        lineage = definition ? viewColumnLineage(definition) : undefined;
      } catch {
        lineage = undefined; // unparsable: every column counts as derived from all the view uses
      }
      entry.view = { lineage, uses: uses.rows.filter((u) => u.view === oid).map(({ oid: used, attnum }) => ({ oid: used, attnum })) };
    }
    const next = this.missing(uses.rows.map((u) => u.oid));
    if (next.length > 0 && depth < MAX_VIEW_DEPTH) await this.load(next, depth + 1);
  }

  resolve(tableOid: number, attnum: number, fieldName: string): ResolvedColumn {
    const entry = this.relations.get(tableOid);
    const column = entry?.columns.get(attnum);
    if (!entry || column === undefined) return { column: fieldName };
    if (!entry.view) return { table: entry.table, column };
    const view = { table: entry.table, column };
    const origin = this.originOf(tableOid, attnum, 0);
    if ('direct' in origin) return { ...origin.direct, view };
    return { ...view, view, derivedFrom: origin.derived };
  }

  /**
   * Loads the views among the relations a statement reads (by name, in any schema: the session's
   * search_path is not known here, and a view of that name elsewhere only adds masking).
   */
  async loadViewsNamed(names: readonly string[]): Promise<void> {
    const wanted = [...new Set(names.map((n) => n.toLowerCase()))].filter((n) => !this.viewsByName.has(n));
    if (wanted.length === 0 || !this.admin) return;
    const { rows } = await this.admin.query<{ oid: number; nspname: string; relname: string }>(
      `SELECT c.oid::int AS oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND c.relname = ANY($1::text[])`,
      [wanted.map((n) => n.split('.').pop() ?? n)],
    );
    for (const name of wanted) {
      const parts = name.split('.');
      const relname = parts.pop();
      const schema = parts.pop();
      this.viewsByName.set(name, rows.filter((r) => r.relname === relname && (schema === undefined || r.nspname === schema)).map((r) => r.oid));
    }
    const missing = this.missing(rows.map((r) => r.oid));
    if (missing.length > 0) await this.load(missing);
  }

  /**
   * The table columns behind the named views' columns (`*`: all of them), for expressions computed
   * over views in a statement. Call loadViewsNamed first; names that are not views add nothing.
   */
  viewSources(names: readonly string[], columns: readonly string[]): ColumnRef[] {
    const all = columns.includes('*');
    const wanted = new Set(columns.map((c) => c.toLowerCase()));
    const out: ColumnRef[] = [];
    for (const name of names) {
      for (const oid of this.viewsByName.get(name.toLowerCase()) ?? []) {
        const entry = this.relations.get(oid);
        if (!entry) continue;
        for (const [attnum, column] of entry.columns) {
          if (!all && !wanted.has(column.toLowerCase())) continue;
          const origin = this.originOf(oid, attnum, 0);
          out.push(...('direct' in origin ? [origin.direct] : origin.derived));
        }
      }
    }
    return out;
  }

  private originOf(oid: number, attnum: number, depth: number): Origin {
    const entry = this.relations.get(oid);
    const column = entry?.columns.get(attnum);
    if (!entry || column === undefined) return { derived: [] };
    if (!entry.view) return { direct: { table: entry.table, column } };
    if (depth >= MAX_VIEW_DEPTH) return { derived: this.everythingUsedBy(entry, depth) };
    const lineage = entry.view.lineage?.[attnum - 1];
    if (!lineage || lineage.opaque) return { derived: this.everythingUsedBy(entry, depth) };
    const candidates = entry.view.uses.filter((use) => {
      const used = this.relations.get(use.oid);
      const usedColumn = used?.columns.get(use.attnum);
      return used && lineage.sources.some((s) => s.column === usedColumn && (s.relation === undefined || relationMatches(s.relation, used.table)));
    });
    // A name that matches nothing the view uses cannot be traced: fail closed.
    const traced = lineage.sources.every((s) => candidates.some((c) => this.relations.get(c.oid)?.columns.get(c.attnum) === s.column));
    if (!traced) return { derived: this.everythingUsedBy(entry, depth) };
    if (lineage.direct && candidates.length === 1) return this.originOf(candidates[0]!.oid, candidates[0]!.attnum, depth + 1);
    return { derived: candidates.flatMap((c) => flatten(this.originOf(c.oid, c.attnum, depth + 1))) };
  }

  private everythingUsedBy(entry: Relation, depth: number): ColumnRef[] {
    return (entry.view?.uses ?? []).flatMap((use) => {
      const used = this.relations.get(use.oid);
      if (!used) return [];
      const column = used.columns.get(use.attnum);
      if (column === undefined) return [];
      if (!used.view || depth >= MAX_VIEW_DEPTH) return [{ table: used.table, column }];
      return flatten(this.originOf(use.oid, use.attnum, depth + 1));
    });
  }
}

function flatten(origin: Origin): ColumnRef[] {
  return 'direct' in origin ? [origin.direct] : origin.derived;
}

/** `schema.table` or `table` as written in a view definition, against a catalog `schema.table`. */
function relationMatches(written: string, table: string): boolean {
  return written === table || table.endsWith(`.${written}`);
}
