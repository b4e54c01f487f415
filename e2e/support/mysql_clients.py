"""What users of Python's MySQL drivers do, through the gateway: run by e2e/mysql-client-matrix.test.ts
with Debian's python3 and its python3-pymysql (pure Python) or python3-mysqldb (mysqlclient, on
MariaDB Connector/C). Prints one JSON object of outcomes; the test asserts on them.

GW_DRIVER (pymysql | mysqldb), GW_HOST, GW_PORT, GW_USER, GW_PASSWORD (the token), GW_DB, GW_CA
(the endpoint's certificate), GW_TAG (marks the rows this run inserts).
"""
import json
import os
import ssl

DRIVER = os.environ["GW_DRIVER"]
HOST, PORT = os.environ["GW_HOST"], int(os.environ["GW_PORT"])
USER, PASSWORD, DB, CA, TAG = (os.environ[k] for k in ("GW_USER", "GW_PASSWORD", "GW_DB", "GW_CA", "GW_TAG"))

if DRIVER == "pymysql":
    import pymysql as db
    from pymysql.constants import CLIENT
    from pymysql.cursors import SSCursor

    def connect(tls=True, password=PASSWORD, multi=False):
        context = ssl.create_default_context(cafile=CA) if tls else None
        return db.connect(host=HOST, port=PORT, user=USER, password=password, database=DB, ssl=context,
                          client_flag=CLIENT.MULTI_STATEMENTS if multi else 0)
else:
    import MySQLdb as db
    from MySQLdb.constants import CLIENT
    from MySQLdb.cursors import SSCursor

    def connect(tls=True, password=PASSWORD, multi=False):
        options = {"ssl": {"ca": CA}} if tls else {}
        return db.connect(host=HOST, port=PORT, user=USER, passwd=password, db=DB,
                          client_flag=CLIENT.MULTI_STATEMENTS if multi else 0, **options)


def error_of(action):
    """(code, message) of the driver error `action` raises; None when it raised nothing."""
    try:
        action()
    except db.Error as e:
        return [e.args[0], e.args[1]]
    return None


def rows(cursor, sql, params=None):
    cursor.execute(sql, params)
    return [list(r) for r in cursor.fetchall()]


out = {}
c = connect()
cur = c.cursor()
out["server"] = c.get_server_info()
out["rows"] = rows(cur, "SELECT id, email, card, phone FROM customers ORDER BY id")
out["param"] = rows(cur, "SELECT email, card FROM customers WHERE id = %s", (1,))

# An unbuffered cursor reads the rows as they arrive: every one must come masked.
stream = c.cursor(SSCursor)
stream.execute("SELECT email FROM people ORDER BY id")
count, leaked, first = 0, 0, None
for (email,) in stream:
    first = first or email
    count += 1
    leaked += 1 if email.startswith("u") and "*" not in email else 0
stream.close()
out["streamed"] = {"rows": count, "leaked": leaked, "first": first}

out["denied"] = error_of(lambda: cur.execute("DROP TABLE orders"))
out["after_denied"] = rows(cur, "SELECT 1")
out["forbidden"] = error_of(lambda: cur.execute("SELECT * FROM secrets"))
out["unknown_column"] = error_of(lambda: cur.execute("SELECT nope FROM customers"))
out["duplicate"] = error_of(lambda: cur.execute("INSERT INTO customers (id, name) VALUES (1, 'again')"))

# A transaction: a refused statement inside it, rollback, then a kept insert.
c.autocommit(False)
cur.execute("INSERT INTO orders (customer_id, item) VALUES (1, %s)", (f"{TAG}-undone",))
out["denied_in_transaction"] = error_of(lambda: cur.execute("TRUNCATE TABLE orders"))
c.rollback()
cur.execute("INSERT INTO orders (customer_id, item) VALUES (1, %s)", (f"{TAG}-kept",))
c.commit()
c.autocommit(True)
c.close()

# Several statements in one text: each result masked; one refused statement refuses the whole text.
m = connect(multi=True)
mc = m.cursor()
mc.execute("SELECT email FROM customers WHERE id = 1; SELECT phone FROM customers WHERE id = 1")
multi = [list(r) for r in mc.fetchall()]
mc.nextset()
multi += [list(r) for r in mc.fetchall()]
out["multi"] = multi
out["multi_refused"] = error_of(lambda: mc.execute(f"INSERT INTO orders (customer_id, item) VALUES (2, '{TAG}-multi'); DROP TABLE orders"))
out["after_multi_refused"] = rows(m.cursor(), "SELECT 2")
m.close()

out["no_tls"] = error_of(lambda: connect(tls=False))
out["bad_token"] = error_of(lambda: connect(password="not-a-token"))
print(json.dumps(out))
