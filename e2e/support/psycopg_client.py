"""psycopg 3 (Debian's python3-psycopg) doing what its users do, through the gateway.

Reads the connection from GW_CONNINFO (a libpq string: TLS, the token as password) and prints one JSON
object with what each step saw; the e2e test (postgres-client-matrix.test.ts) asserts on it.
"""
import json
import os
import threading
import time

import psycopg
from psycopg import sql

out = {}


def error_fields(e):
    d = e.diag
    return {"sqlstate": d.sqlstate, "message": d.message_primary, "detail": d.message_detail, "hint": d.message_hint}


conninfo = os.environ["GW_CONNINFO"]
with psycopg.connect(conninfo, options="-c statement_timeout=20s -c lock_timeout=3s", application_name="psycopg-matrix") as conn:
    out["settings"] = [conn.execute("SHOW statement_timeout").fetchone()[0], conn.execute("SHOW lock_timeout").fetchone()[0]]
    out["ssl"] = conn.pgconn.ssl_in_use

    # Parameterized, and prepared server-side (prepare=True: Parse once, then Bind/Execute).
    out["param"] = conn.execute("SELECT email, card FROM customers WHERE id = %s", [1]).fetchone()
    out["prepared"] = [conn.execute("SELECT ssn FROM customers WHERE id = %s", [i], prepare=True).fetchone()[0] for i in (1, 2, 1)]
    conn.commit()

    # A transaction with a savepoint: the inner block rolls back, the outer commits.
    with conn.transaction():
        conn.execute("INSERT INTO orders (customer_id, amount, item) VALUES (%s, %s, %s)", [1, 3, "psycopg-kept"])
        try:
            with conn.transaction():
                conn.execute("INSERT INTO orders (customer_id, amount, item) VALUES (%s, %s, %s)", [1, 4, "psycopg-undone"])
                raise RuntimeError("roll back to the savepoint")
        except RuntimeError:
            pass

    # A large result streamed through a server-side cursor (DECLARE/FETCH in batches).
    with conn.transaction():
        with conn.cursor(name="big_cursor") as cur:
            cur.itersize = 2000
            cur.execute("SELECT id, email FROM big ORDER BY id")
            rows = 0
            leaked = 0
            first = None
            for row in cur:
                rows += 1
                first = first or row[1]
                if row[1] == f"user{row[0]}@example.com":
                    leaked += 1
    out["streamed"] = {"rows": rows, "leaked": leaked, "first": first}

    # A query cancelled from another thread (libpq's PQcancel: a CancelRequest on a new connection),
    # once the server shows it running (read on a direct connection: GW_DIRECT_CONNINFO).
    def cancel_when_running():
        with psycopg.connect(os.environ["GW_DIRECT_CONNINFO"], autocommit=True) as direct:
            for _ in range(200):
                running = direct.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = 'SELECT pg_sleep(20)'"
                ).fetchone()[0]
                if running:
                    conn.cancel()
                    return
                time.sleep(0.05)

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    try:
        conn.execute("SELECT pg_sleep(20)")
        out["cancel"] = "not cancelled"
    except psycopg.errors.QueryCanceled as e:
        out["cancel"] = e.diag.sqlstate
    canceller.join()
    conn.rollback()
    out["usable_after_cancel"] = conn.execute("SELECT 1").fetchone()[0]
    conn.commit()

    # A denied statement inside a transaction, then a rollback and more work.
    try:
        with conn.transaction():
            conn.execute("SELECT 1")
            conn.execute("DELETE FROM orders WHERE id = %s", [1])
    except psycopg.Error as e:
        out["denied"] = error_fields(e)
    out["after_denied"] = conn.execute("SELECT count(*) FROM orders WHERE id = %s", [1]).fetchone()[0]
    conn.commit()

    # Server errors keep SQLSTATE, message, detail and hint.
    try:
        conn.execute("INSERT INTO customers (id, name) VALUES (1, 'dup')")
    except psycopg.Error as e:
        out["duplicate"] = error_fields(e)
    conn.rollback()
    try:
        conn.execute("SELECT lower(1, 2)")
    except psycopg.Error as e:
        out["no_function"] = error_fields(e)
    conn.rollback()

    # libpq pipeline mode: several statements sent before any result is read.
    with conn.pipeline():
        a = conn.execute("SELECT email FROM customers WHERE id = %s", [2])
        b = conn.execute("SELECT count(*) FROM orders")
        c = conn.execute("SELECT %s::text AS echo", ["piped"])
    out["pipeline"] = [a.fetchone()[0], b.fetchone()[0] > 0, c.fetchone()[0]]
    conn.commit()

# LISTEN/NOTIFY needs autocommit (a notification is delivered when the sender's transaction commits).
with psycopg.connect(conninfo, autocommit=True) as listener, psycopg.connect(conninfo, autocommit=True) as sender:
    listener.execute("LISTEN gw_matrix")
    sender.execute(sql.SQL("NOTIFY gw_matrix, {}").format(sql.Literal("hello from psycopg")))
    # psycopg 3.1's notifies() waits without a timeout: the test's process timeout bounds it.
    gen = listener.notifies()
    out["notify"] = [next(gen).payload]
    gen.close()

print(json.dumps(out, default=str))
