import java.math.BigDecimal;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * pgJDBC (Debian's libpostgresql-jdbc-java) doing what Java applications do, through the gateway: its own
 * protocol implementation (extended protocol everywhere, named server-side statements after
 * prepareThreshold, binary transfer, pipelined batches, portal suspension with setFetchSize, cancel on a
 * second connection). Run as a single-file source program:
 *   java -cp /usr/share/java/postgresql.jar e2e/support/PgJdbcClient.java
 * The connection comes from GW_PORT, GW_DB, GW_USER, GW_TOKEN and GW_ROOTCERT (the endpoint's certificate,
 * for sslmode=verify-full); GW_DIRECT_URL is a direct JDBC URL to the same database (superuser), used only
 * to see what the server runs. Prints one JSON object with what each step saw; the e2e test
 * (postgres-client-matrix.test.ts) asserts on it.
 */
public class PgJdbcClient {
  static final Map<String, Object> out = new LinkedHashMap<>();

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null) throw new IllegalStateException("missing " + name);
    return v;
  }

  /** A gateway connection: TLS verified against the endpoint's certificate, the token as password. */
  static Connection gateway(String applicationName, String... extra) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", env("GW_USER"));
    p.setProperty("password", env("GW_TOKEN"));
    p.setProperty("sslmode", "verify-full");
    p.setProperty("sslrootcert", env("GW_ROOTCERT"));
    p.setProperty("ApplicationName", applicationName);
    for (int i = 0; i + 1 < extra.length; i += 2) p.setProperty(extra[i], extra[i + 1]);
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + env("GW_PORT") + "/" + env("GW_DB"), p);
  }

  static Map<String, Object> errorFields(SQLException e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sqlstate", e.getSQLState());
    ServerErrorMessage s = e instanceof PSQLException ? ((PSQLException) e).getServerErrorMessage() : null;
    m.put("message", s != null ? s.getMessage() : e.getMessage());
    m.put("detail", s != null ? s.getDetail() : null);
    m.put("hint", s != null ? s.getHint() : null);
    return m;
  }

  static List<Object> row(ResultSet rs, int columns) throws SQLException {
    List<Object> r = new ArrayList<>();
    for (int i = 1; i <= columns; i++) r.add(rs.getString(i));
    return r;
  }

  static Object scalar(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getObject(1);
    }
  }

  /** Whether the server runs this query text now (seen on the direct connection). */
  static boolean running(Connection direct, String text) throws SQLException {
    try (PreparedStatement ps = direct.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = ?")) {
      ps.setString(1, text);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1) > 0;
      }
    }
  }

  static void waitRunning(Connection direct, String text) throws Exception {
    for (int i = 0; i < 400 && !running(direct, text); i++) Thread.sleep(25);
  }

  /** How a statement ended: "finished", or the SQLSTATE it failed with. */
  static CompletableFuture<String> runAsync(Statement s, String sql) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        s.execute(sql);
        return "finished";
      } catch (SQLException e) {
        return e.getSQLState();
      }
    });
  }

  /** Streams `big` with the given fetch size: row count, values that arrived as stored, the first e-mail. */
  static Map<String, Object> streamed(ResultSet rs) throws SQLException {
    int rows = 0;
    int leaked = 0;
    String first = null;
    while (rs.next()) {
      rows++;
      String email = rs.getString(2);
      if (first == null) first = email;
      if (email.equals("user" + rs.getInt(1) + "@example.com")) leaked++;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rows);
    m.put("leaked", leaked);
    m.put("first", first);
    return m;
  }

  public static void main(String[] args) throws Exception {
    try (Connection direct = DriverManager.getConnection(env("GW_DIRECT_URL"))) {
      // Plain statements (extended protocol, unnamed statements, text results).
      try (Connection c = gateway("pgjdbc-plain"); Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT email, card, ssn FROM customers WHERE id = 1")) {
          rs.next();
          out.put("masked", row(rs, 3));
        }
        out.put("settings", Arrays.asList(scalar(c, "SHOW application_name"), scalar(c, "SHOW TimeZone") != null));
      }

      // The default prepareThreshold (5): executions 1-4 use unnamed statements, from the 5th a named
      // server-side statement with binary results (binaryTransferEnable adds text and varchar to the
      // types pgJDBC asks in binary).
      String byId = "SELECT email, card, ssn, born FROM customers WHERE id = ?";
      try (Connection c = gateway("pgjdbc-prepared", "binaryTransferEnable", "25,1043", "assumeMinServerVersion", "12"); PreparedStatement ps = c.prepareStatement(byId)) {
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          ps.setInt(1, i % 2 == 0 ? 1 : 2);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            rows.add(row(rs, 4));
          }
        }
        out.put("prepared_default", rows);
        out.put("prepared_default_server_side", ps.unwrap(PGStatement.class).isUseServerPrepare());
        // The named statements pgJDBC made on the server (S_1 ...): the query text as the server has it.
        List<Object> named = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY prepare_time")) {
          while (rs.next()) named.add(rs.getString(1));
        }
        out.put("named_statements", named);
      }

      // prepareThreshold=1: named from the first execution.
      try (Connection c = gateway("pgjdbc-threshold-1", "prepareThreshold", "1", "binaryTransferEnable", "25,1043"); PreparedStatement ps = c.prepareStatement(byId)) {
        List<Object> rows = new ArrayList<>();
        for (int id : new int[] {2, 1, 3}) {
          ps.setInt(1, id);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            rows.add(row(rs, 4));
          }
        }
        out.put("prepared_threshold_1", rows);
        out.put("prepared_threshold_1_server_side", ps.unwrap(PGStatement.class).isUseServerPrepare());
      }

      try (Connection c = gateway("pgjdbc-batch")) {
        // Batched inserts: pgJDBC sends every Bind/Execute before one Sync (pipelined).
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, amount, item) VALUES (?, ?, ?)")) {
          for (int i = 1; i <= 6; i++) {
            ps.setInt(1, i % 2 + 1);
            ps.setBigDecimal(2, new BigDecimal(i));
            ps.setString(3, "jdbc-batch");
            ps.addBatch();
          }
          out.put("batch_counts", Arrays.stream(ps.executeBatch()).boxed().toList());
        }
        // A batch with a denied statement in the middle, and the same batch with a server error there.
        for (String[] batch : new String[][] {
          {"denied", "DELETE FROM orders WHERE item = 'book'"},
          {"server_error", "INSERT INTO customers (id, name) VALUES (1, 'dup')"},
        }) {
          try (Statement s = c.createStatement()) {
            s.addBatch("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-" + batch[0] + "-before')");
            s.addBatch(batch[1]);
            s.addBatch("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-" + batch[0] + "-after')");
            s.executeBatch();
            out.put("batch_" + batch[0], "not refused");
          } catch (BatchUpdateException e) {
            Map<String, Object> m = new LinkedHashMap<>();
            SQLException cause = e.getNextException() != null ? e.getNextException() : e;
            m.put("error", errorFields(cause));
            m.put("counts", Arrays.stream(e.getUpdateCounts()).boxed().toList());
            out.put("batch_" + batch[0], m);
          }
          out.put("batch_" + batch[0] + "_then", scalar(c, "SELECT count(*)::int FROM orders WHERE item = 'book'"));
        }
      }

      // reWriteBatchedInserts: one multi-row INSERT for the batch.
      try (Connection c = gateway("pgjdbc-rewrite", "reWriteBatchedInserts", "true"); PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, amount, item) VALUES (?, ?, ?)")) {
        for (int i = 1; i <= 10; i++) {
          ps.setInt(1, 1);
          ps.setBigDecimal(2, new BigDecimal(i));
          ps.setString(3, "jdbc-rewritten");
          ps.addBatch();
        }
        out.put("rewritten_counts", Arrays.stream(ps.executeBatch()).boxed().toList());
      }

      try (Connection c = gateway("pgjdbc-tx")) {
        // setFetchSize with autocommit off: Execute with a row limit, PortalSuspended, Execute again.
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
          s.setFetchSize(1000);
          try (ResultSet rs = s.executeQuery("SELECT id, email FROM big ORDER BY id")) {
            out.put("streamed", streamed(rs));
          }
        }
        c.commit();

        // A transaction with a savepoint; then a denied statement inside a transaction, a rollback and more work.
        try (Statement s = c.createStatement()) {
          s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-kept')");
          Savepoint sp = c.setSavepoint();
          s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 2, 'jdbc-undone')");
          c.rollback(sp);
          c.commit();
          s.executeQuery("SELECT 1").close();
          try {
            s.executeUpdate("DELETE FROM orders WHERE id = 1");
            out.put("denied", "not refused");
          } catch (SQLException e) {
            out.put("denied", errorFields(e));
          }
          try {
            s.executeQuery("SELECT 1").close();
            out.put("in_failed_tx", "ran");
          } catch (SQLException e) {
            out.put("in_failed_tx", e.getSQLState());
          }
          c.rollback();
          out.put("after_denied", scalar(c, "SELECT count(*)::int FROM orders WHERE id = 1"));
          c.commit();
        }
      }

      // The same streaming on a named statement with binary results and a parameter.
      try (Connection c = gateway("pgjdbc-fetch-binary", "prepareThreshold", "1", "binaryTransferEnable", "25,1043")) {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("SELECT id, email FROM big WHERE id > ? ORDER BY id")) {
          ps.setFetchSize(700);
          ps.setInt(1, 0);
          try (ResultSet rs = ps.executeQuery()) {
            out.put("streamed_binary", streamed(rs));
          }
        }
        c.commit();
      }

      // Two result sets open at once on one connection, each a suspended portal: their rows interleave
      // on the wire (Execute C_1, Execute C_2, Execute C_1 ...), each described once, and each is masked
      // by its own columns. Also: metadata before execution (Parse/Describe only), a denied prepared
      // statement on the named path, a large pipelined batch, and a denied batch inside a transaction.
      try (Connection c = gateway("pgjdbc-interleaved", "prepareThreshold", "1", "binaryTransferEnable", "25,1043")) {
        c.setAutoCommit(false);
        try (PreparedStatement big = c.prepareStatement("SELECT id, email FROM big ORDER BY id");
            PreparedStatement people = c.prepareStatement("SELECT ssn, id, card, email FROM customers ORDER BY id")) {
          big.setFetchSize(100);
          people.setFetchSize(1);
          List<Object> peopleRows = new ArrayList<>();
          int rows = 0;
          int leaked = 0;
          try (ResultSet a = big.executeQuery()) {
            for (; rows < 150 && a.next(); rows++) if (a.getString(2).equals("user" + a.getInt(1) + "@example.com")) leaked++;
            try (ResultSet b = people.executeQuery()) {
              while (b.next()) {
                peopleRows.add(row(b, 4));
                for (int i = 0; i < 120 && a.next(); i++, rows++) if (a.getString(2).equals("user" + a.getInt(1) + "@example.com")) leaked++;
              }
            }
            for (; a.next(); rows++) if (a.getString(2).equals("user" + a.getInt(1) + "@example.com")) leaked++;
          }
          out.put("interleaved", Map.of("rows", rows, "leaked", leaked, "people", peopleRows));
        }
        c.commit();

        try (PreparedStatement ps = c.prepareStatement("SELECT email, ssn FROM customers WHERE id = ?")) {
          out.put("metadata", Arrays.asList(ps.getMetaData().getColumnName(1), ps.getMetaData().getColumnTypeName(2), ps.getParameterMetaData().getParameterTypeName(1)));
        }
        c.commit();

        List<Object> deniedPrepared = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM orders WHERE id = ?")) {
          for (int i = 0; i < 3; i++) {
            ps.setInt(1, 1);
            try {
              ps.executeUpdate();
              deniedPrepared.add("ran");
            } catch (SQLException e) {
              deniedPrepared.add(e.getSQLState());
            }
            c.rollback();
          }
        }
        out.put("denied_prepared", deniedPrepared);
        out.put("after_denied_prepared", scalar(c, "SELECT count(*)::int FROM orders WHERE id = 1"));
        c.commit();

        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, amount, item) VALUES (?, ?, ?)")) {
          for (int i = 1; i <= 2000; i++) {
            ps.setInt(1, 2);
            ps.setBigDecimal(2, new BigDecimal(i));
            ps.setString(3, "jdbc-large-batch");
            ps.addBatch();
          }
          out.put("large_batch", Arrays.stream(ps.executeBatch()).filter(n -> n == 1).count());
        }
        c.commit();

        try (Statement s = c.createStatement()) {
          s.addBatch("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-tx-batch')");
          s.addBatch("DELETE FROM orders WHERE item = 'book'");
          s.executeBatch();
          out.put("tx_batch", "not refused");
        } catch (BatchUpdateException e) {
          out.put("tx_batch", (e.getNextException() != null ? e.getNextException() : e).getSQLState());
        }
        c.rollback();
        try (Statement s = c.createStatement()) {
          s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-after-tx-batch')");
        }
        c.commit();
      }

      // autosave=always: pgJDBC sets a savepoint before each statement in a transaction and rolls back to
      // it when one fails, so the transaction goes on after a denial.
      try (Connection c = gateway("pgjdbc-autosave", "autosave", "always"); Statement s = c.createStatement()) {
        c.setAutoCommit(false);
        s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-autosave-before')");
        try {
          s.executeUpdate("DELETE FROM orders WHERE id = 1");
          out.put("autosave_denied", "not refused");
        } catch (SQLException e) {
          out.put("autosave_denied", e.getSQLState());
        }
        s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-autosave-after')");
        c.commit();
      }

      // preferQueryMode=simple: the simple protocol, parameters inlined by the driver.
      try (Connection c = gateway("pgjdbc-simple", "preferQueryMode", "simple"); PreparedStatement ps = c.prepareStatement("SELECT email, card, ssn FROM customers WHERE id = ?")) {
        ps.setInt(1, 1);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          out.put("simple_mode", row(rs, 3));
        }
        try (PreparedStatement del = c.prepareStatement("DELETE FROM orders WHERE id = ?")) {
          del.setInt(1, 1);
          del.executeUpdate();
          out.put("simple_mode_denied", "not refused");
        } catch (SQLException e) {
          out.put("simple_mode_denied", e.getSQLState());
        }
        out.put("simple_mode_after", scalar(c, "SELECT count(*)::int FROM orders WHERE id = 1"));
      }

      // Statement.cancel() from another thread: a CancelRequest on a new connection with the key the
      // gateway handed out. Two sessions sleep; cancelling one leaves the other running.
      try (Connection a = gateway("pgjdbc-cancel-a"); Connection b = gateway("pgjdbc-cancel-b"); Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
        CompletableFuture<String> outcomeA = runAsync(sa, "SELECT pg_sleep(21)");
        CompletableFuture<String> outcomeB = runAsync(sb, "SELECT pg_sleep(22)");
        waitRunning(direct, "SELECT pg_sleep(21)");
        waitRunning(direct, "SELECT pg_sleep(22)");
        sa.cancel();
        out.put("cancel_a", outcomeA.get());
        out.put("b_still_running", running(direct, "SELECT pg_sleep(22)"));
        sb.cancel();
        out.put("cancel_b", outcomeB.get());
        out.put("usable_after_cancel", Arrays.asList(scalar(a, "SELECT 1"), scalar(b, "SELECT 2")));
        // setQueryTimeout: pgJDBC cancels the statement itself after the timeout.
        sa.setQueryTimeout(1);
        try {
          sa.execute("SELECT pg_sleep(23)");
          out.put("query_timeout", "finished");
        } catch (SQLException e) {
          out.put("query_timeout", errorFields(e));
        }
        out.put("usable_after_timeout", scalar(a, "SELECT 3"));
      }

      // LISTEN/NOTIFY: notifications arrive with getNotifications(timeout).
      try (Connection listener = gateway("pgjdbc-listen"); Connection sender = gateway("pgjdbc-notify")) {
        try (Statement s = listener.createStatement()) {
          s.execute("LISTEN gw_matrix_jdbc");
        }
        try (Statement s = sender.createStatement()) {
          s.execute("NOTIFY gw_matrix_jdbc, 'hello from pgjdbc'");
        }
        List<Object> payloads = new ArrayList<>();
        PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(10_000);
        if (got != null) for (PGNotification n : got) payloads.add(n.getParameter());
        out.put("notify", payloads);
      }

      // The large-object API (getBlob of an oid column uses it): fast-path FunctionCalls, which policy
      // decides as procedural calls (refused here); the connection goes on after a rollback.
      try (Connection c = gateway("pgjdbc-lo")) {
        c.setAutoCommit(false);
        try {
          LargeObject lo = c.unwrap(PGConnection.class).getLargeObjectAPI().open(Long.parseLong(env("GW_LO_OID")), LargeObjectManager.READ);
          out.put("large_object", new String(lo.read(200), java.nio.charset.StandardCharsets.UTF_8));
        } catch (SQLException e) {
          out.put("large_object", errorFields(e));
        }
        c.rollback();
        out.put("after_large_object", scalar(c, "SELECT 4"));
        c.commit();
      }

      // What pools and tools (Hikari's isValid, Hibernate's schema validation, DBeaver) ask first: an
      // empty query, and DatabaseMetaData's catalog queries.
      try (Connection c = gateway("pgjdbc-metadata", "assumeMinServerVersion", "12")) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("valid", c.isValid(5));
        java.sql.DatabaseMetaData md = c.getMetaData();
        List<Object> tables = new ArrayList<>();
        try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
          while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
        }
        m.put("tables", tables);
        List<Object> columns = new ArrayList<>();
        try (ResultSet rs = md.getColumns(null, "public", "customers", "%")) {
          while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
        }
        m.put("columns", columns);
        List<Object> keys = new ArrayList<>();
        try (ResultSet rs = md.getPrimaryKeys(null, "public", "orders")) {
          while (rs.next()) keys.add(rs.getString("COLUMN_NAME"));
        }
        m.put("primary_keys", keys);
        List<Object> imported = new ArrayList<>();
        try (ResultSet rs = md.getImportedKeys(null, "public", "orders")) {
          while (rs.next()) imported.add(rs.getString("FKCOLUMN_NAME") + "->" + rs.getString("PKTABLE_NAME") + "." + rs.getString("PKCOLUMN_NAME"));
        }
        m.put("foreign_keys", imported);
        m.put("product", md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
        // The other catalog calls (pgJDBC does not implement getPseudoColumns and getSuperTables): each
        // one's refusal, if any.
        Map<String, Object> refused = new LinkedHashMap<>();
        String[] names = {"getIndexInfo", "getSchemas", "getTypeInfo", "getExportedKeys", "getCatalogs", "getTablePrivileges", "getColumnPrivileges", "getProcedures", "getFunctions", "getBestRowIdentifier", "getVersionColumns", "getUDTs", "getTableTypes", "getClientInfoProperties", "getFunctionColumns", "getProcedureColumns", "getCrossReference"};
        for (String name : names) {
          try {
            ResultSet rs = switch (name) {
              case "getIndexInfo" -> md.getIndexInfo(null, "public", "orders", false, false);
              case "getSchemas" -> md.getSchemas();
              case "getTypeInfo" -> md.getTypeInfo();
              case "getExportedKeys" -> md.getExportedKeys(null, "public", "customers");
              case "getCatalogs" -> md.getCatalogs();
              case "getTablePrivileges" -> md.getTablePrivileges(null, "public", "orders");
              case "getColumnPrivileges" -> md.getColumnPrivileges(null, "public", "orders", "%");
              case "getProcedures" -> md.getProcedures(null, "public", "%");
              case "getFunctions" -> md.getFunctions(null, "public", "%");
              case "getBestRowIdentifier" -> md.getBestRowIdentifier(null, "public", "orders", java.sql.DatabaseMetaData.bestRowSession, true);
              case "getVersionColumns" -> md.getVersionColumns(null, "public", "orders");
              case "getUDTs" -> md.getUDTs(null, "public", "%", null);
              case "getTableTypes" -> md.getTableTypes();
              case "getClientInfoProperties" -> md.getClientInfoProperties();
              case "getFunctionColumns" -> md.getFunctionColumns(null, "public", "%", "%");
              case "getProcedureColumns" -> md.getProcedureColumns(null, "public", "%", "%");
              default -> md.getCrossReference(null, "public", "customers", null, "public", "orders");
            };
            while (rs.next()) {
              // read to the end
            }
            rs.close();
          } catch (SQLException e) {
            refused.put(name, e.getSQLState() + " " + e.getMessage());
          }
        }
        m.put("other_calls_refused", refused);
        out.put("metadata_api", m);
      } catch (SQLException e) {
        out.put("metadata_api", errorFields(e));
      }

      // getGeneratedKeys (pgJDBC appends RETURNING *), a CallableStatement of a built-in function, and a
      // bytea column with PII read past the threshold (bytea is binary by default in pgJDBC).
      try (Connection c = gateway("pgjdbc-misc")) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, amount, item) VALUES (?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
          List<Object> keys = new ArrayList<>();
          for (int i = 0; i < 2; i++) {
            ps.setInt(1, 2);
            ps.setBigDecimal(2, BigDecimal.ONE);
            ps.setString(3, "jdbc-generated");
            ps.addBatch();
          }
          ps.executeBatch();
          try (ResultSet rs = ps.getGeneratedKeys()) {
            while (rs.next()) keys.add(rs.getInt("customer_id") + ":" + rs.getString("item"));
          }
          out.put("generated_keys", keys);
        }
        try (java.sql.CallableStatement cs = c.prepareCall("{? = call upper(?)}")) {
          cs.registerOutParameter(1, java.sql.Types.VARCHAR);
          cs.setString(2, "jdbc");
          cs.execute();
          out.put("callable", cs.getString(1));
        } catch (SQLException e) {
          out.put("callable", errorFields(e));
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT body FROM docs WHERE id = ?")) {
          List<Object> bodies = new ArrayList<>();
          for (int i = 0; i < 6; i++) {
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              bodies.add(new String(rs.getBytes(1), java.nio.charset.StandardCharsets.UTF_8));
            }
          }
          out.put("bytea", bodies);
        }
      }

      // Connection properties that become startup parameters (options, currentSchema) or session
      // commands (readOnly: BEGIN READ ONLY with autocommit off).
      try (Connection c = gateway("pgjdbc-options", "options", "-c statement_timeout=7s", "currentSchema", "public", "readOnly", "true")) {
        c.setAutoCommit(false);
        List<Object> m = new ArrayList<>(Arrays.asList(scalar(c, "SHOW statement_timeout"), scalar(c, "SHOW search_path")));
        try (Statement s = c.createStatement()) {
          s.executeUpdate("INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'jdbc-read-only')");
          m.add("written");
        } catch (SQLException e) {
          m.add(e.getSQLState());
        }
        c.rollback();
        out.put("connection_options", m);
      }

      // Server errors keep SQLSTATE, message, detail and hint.
      try (Connection c = gateway("pgjdbc-errors"); Statement s = c.createStatement()) {
        try {
          s.executeUpdate("INSERT INTO customers (id, name) VALUES (1, 'dup')");
        } catch (SQLException e) {
          out.put("duplicate", errorFields(e));
        }
        try {
          s.executeQuery("SELECT lower(1, 2)");
        } catch (SQLException e) {
          out.put("no_function", errorFields(e));
        }
      }

      // A wrong token is refused before any session.
      Properties wrong = new Properties();
      wrong.setProperty("user", env("GW_USER"));
      wrong.setProperty("password", "not-a-token");
      wrong.setProperty("sslmode", "require");
      try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + env("GW_PORT") + "/" + env("GW_DB"), wrong)) {
        out.put("wrong_token", "connected");
      } catch (SQLException e) {
        out.put("wrong_token", errorFields(e));
      }
    }
    System.out.println(json(out));
  }

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Boolean || v instanceof Number) return v.toString();
    if (v instanceof Map<?, ?> m) {
      List<String> parts = new ArrayList<>();
      for (Map.Entry<?, ?> e : m.entrySet()) parts.add(json(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
      return "{" + String.join(",", parts) + "}";
    }
    if (v instanceof List<?> l) {
      List<String> parts = new ArrayList<>();
      for (Object o : l) parts.add(json(o));
      return "[" + String.join(",", parts) + "]";
    }
    StringBuilder b = new StringBuilder("\"");
    for (char ch : v.toString().toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }
}
