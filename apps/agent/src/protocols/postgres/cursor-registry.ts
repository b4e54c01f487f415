import type { StatementClassification } from '@gw/sql';

interface Declaration {
  statement: StatementClassification;
  /** When it was declared (the registry's sequence): what a server event that came later may forget. */
  seq: number;
  /** DECLARE ... WITH HOLD: the cursor outlives its transaction. */
  hold: boolean;
}

/**
 * What each cursor name of a session was declared with: SQL `DECLARE` and protocol Binds to a named
 * portal (the server's SQL `FETCH` reads such a portal too). A `FETCH` is decided as every query its
 * name holds, together (see StatementGate.decideCursor).
 *
 * Forgetting is what keeps a long session usable (a pooled connection whose driver names each cursor
 * anew, pgJDBC's portals `C_1`, `C_2`, ..., psycopg's and Django's named cursors): without it the
 * session reaches the bound and every later cursor is refused. It must never run ahead of the server:
 * a name forgotten while the server still holds the cursor could be declared again with another query,
 * which the server refuses ("cursor already exists") while the registry would believe it, and a FETCH
 * would then read the old query's rows under the new query's masking. So a declaration is forgotten
 * only on the server's word that it is gone, and only if it was declared before the statement that
 * closed it: a successful `CLOSE` (or `CLOSE ALL`, `DISCARD ALL`, a protocol Close of the portal), or
 * a ReadyForQuery saying the session is idle again, which ends every cursor without HOLD and every
 * portal. Each declaration carries a sequence number; the session marks (`mark`) where in that
 * sequence a closing message was sent and passes the mark back when the server confirms it, so a
 * declaration pipelined after the close is kept.
 */
export class CursorRegistry {
  private readonly byName = new Map<string, Map<string, Declaration>>();
  private count = 0;
  private seq = 0;

  constructor(private readonly max: number) {}

  /** The sequence number of the latest declaration: taken when a message that may close cursors is sent. */
  get mark(): number {
    return this.seq;
  }

  /** Declarations held (tests, stats). */
  get size(): number {
    return this.count;
  }

  /** Remembers that `name` reads `statement` (`key`: its decision key). False when the session already holds `max`. */
  declare(name: string, statement: StatementClassification, key: string, hold: boolean): boolean {
    const queries = this.byName.get(name) ?? new Map<string, Declaration>();
    const known = queries.get(key);
    if (known) {
      // Declared again: the newer declaration is the one a later close must come after.
      known.seq = ++this.seq;
      known.hold ||= hold;
      return true;
    }
    if (this.count >= this.max) return false;
    this.count += 1;
    queries.set(key, { statement, seq: ++this.seq, hold });
    this.byName.set(name, queries);
    return true;
  }

  /** The queries `name` was declared with, or undefined when the gateway saw no declaration. */
  queries(name: string): StatementClassification[] | undefined {
    const queries = this.byName.get(name);
    return queries ? [...queries.values()].map((d) => d.statement) : undefined;
  }

  /** The server closed `name` (`null`: every cursor) after the declarations up to `upTo`. */
  closed(name: string | null, upTo: number): void {
    if (name === null) {
      for (const n of [...this.byName.keys()]) this.forget(n, upTo, () => true);
    } else this.forget(name, upTo, () => true);
  }

  /** The session is idle (its transaction ended) after the declarations up to `upTo`: cursors without HOLD are gone. */
  transactionEnded(upTo: number): void {
    // Every idle ReadyForQuery comes here: most sessions hold no cursor at all.
    if (this.count === 0) return;
    for (const n of [...this.byName.keys()]) this.forget(n, upTo, (d) => !d.hold);
  }

  private forget(name: string, upTo: number, gone: (d: Declaration) => boolean): void {
    const queries = this.byName.get(name);
    if (!queries) return;
    for (const [key, d] of queries) {
      if (d.seq <= upTo && gone(d)) {
        queries.delete(key);
        this.count -= 1;
      }
    }
    if (queries.size === 0) this.byName.delete(name);
  }
}
