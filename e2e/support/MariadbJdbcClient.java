// What users of Java's MariaDB Connector/J (Debian libmariadb-java, a pure-Java implementation of the
// MySQL protocol) do through the gateway: run by e2e/mysql-client-matrix.test.ts as a single-file
// source program, `java -cp /usr/share/java/mariadb-java-client.jar MariadbJdbcClient.java`.
// Prints one JSON object of outcomes. GW_HOST, GW_PORT, GW_USER, GW_PASSWORD (the token), GW_DB,
// GW_CA (the endpoint's certificate), GW_TAG (marks the rows this run inserts).
//
// The login: Connector/J answers the endpoint's switch to mysql_clear_password only on a TLS
// connection (its plugin refuses otherwise). TLS with the certificate and the host name checked:
// useSsl=true&serverSslCert=<CA file>.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class MariadbJdbcClient {
  static final String HOST = System.getenv("GW_HOST"), PORT = System.getenv("GW_PORT"), USER = System.getenv("GW_USER"),
      PASSWORD = System.getenv("GW_PASSWORD"), DB = System.getenv("GW_DB"), CA = System.getenv("GW_CA"), TAG = System.getenv("GW_TAG");
  static final String TLS = "useSsl=true&serverSslCert=" + CA;

  interface Action { void run() throws SQLException; }

  static Connection connect(String options, String password) throws SQLException {
    return DriverManager.getConnection("jdbc:mariadb://" + HOST + ":" + PORT + "/" + DB + "?" + options, USER, password);
  }

  static Connection connect(String options) throws SQLException { return connect(options, PASSWORD); }

  /** [code, message] of the SQLException the action throws; null when it threw nothing. */
  static List<Object> errorOf(Action action) {
    try {
      action.run();
      return null;
    } catch (SQLException e) {
      // The driver puts its connection id before the server's message: "(conn=12) ...".
      return List.of(e.getErrorCode(), e.getMessage().replaceFirst("^\\(conn=\\d+\\) ", ""));
    }
  }

  static List<List<Object>> rows(ResultSet rs) throws SQLException {
    List<List<Object>> out = new ArrayList<>();
    int n = rs.getMetaData().getColumnCount();
    while (rs.next()) {
      List<Object> row = new ArrayList<>();
      for (int i = 1; i <= n; i++) row.add(rs.getObject(i));
      out.add(row);
    }
    rs.close();
    return out;
  }

  static List<List<Object>> query(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) { return rows(s.executeQuery(sql)); }
  }

  /** The same parameterized query for each id: prepared on the server or in the driver, by the URL. */
  static List<Object> prepared(Connection c, String sql, int... ids) throws SQLException {
    List<Object> out = new ArrayList<>();
    try (PreparedStatement p = c.prepareStatement(sql)) {
      for (int id : ids) {
        p.setInt(1, id);
        out.add(rows(p.executeQuery()));
      }
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Connection c = connect(TLS)) {
      out.put("server", c.getMetaData().getDatabaseProductVersion());
      out.put("rows", query(c, "SELECT id, email, card, phone FROM customers ORDER BY id"));
      // What ORMs and database tools read: the catalogue through DatabaseMetaData (information_schema queries).
      List<Object> columns = new ArrayList<>();
      try (ResultSet rs = c.getMetaData().getColumns(null, null, "customers", "%")) {
        while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME"));
      }
      out.put("columns", columns);
      // useServerPrepStmts=false (the default): placeholders filled in by the driver, a text query.
      out.put("param", prepared(c, "SELECT email, card FROM customers WHERE id = ? /* " + TAG + " */", 1).get(0));

      // setFetchSize(Integer.MIN_VALUE): the rows are streamed, read as they arrive; every one must come masked.
      try (Statement s = c.createStatement()) {
        s.setFetchSize(Integer.MIN_VALUE);
        ResultSet rs = s.executeQuery("SELECT email FROM people ORDER BY id");
        int count = 0, leaked = 0;
        String first = null;
        while (rs.next()) {
          String email = rs.getString(1);
          if (first == null) first = email;
          count++;
          if (email.matches("^u\\d+@.*")) leaked++;
        }
        out.put("streamed", Map.of("rows", count, "leaked", leaked, "first", first));
      }

      out.put("denied", errorOf(() -> c.createStatement().execute("DROP TABLE orders")));
      out.put("after_denied", query(c, "SELECT 1"));
      out.put("forbidden", errorOf(() -> c.createStatement().executeQuery("SELECT * FROM secrets")));
      out.put("duplicate", errorOf(() -> c.createStatement().executeUpdate("INSERT INTO customers (id, name) VALUES (1, 'again')")));

      c.setAutoCommit(false);
      try (PreparedStatement p = c.prepareStatement("INSERT INTO orders (customer_id, item) VALUES (1, ?)")) {
        p.setString(1, TAG + "-undone");
        p.executeUpdate();
        out.put("denied_in_transaction", errorOf(() -> c.createStatement().execute("TRUNCATE TABLE orders")));
        c.rollback();
        p.setString(1, TAG + "-kept");
        p.executeUpdate();
        c.commit();
      }
      // A savepoint (nested transactions in Spring and JPA): rollback(Savepoint) sends ROLLBACK TO SAVEPOINT.
      c.setAutoCommit(false);
      Savepoint savepoint = c.setSavepoint("before");
      c.createStatement().executeUpdate("INSERT INTO orders (customer_id, item) VALUES (1, '" + TAG + "-savepoint')");
      c.rollback(savepoint);
      c.commit();
      c.setAutoCommit(true);
      out.put("after_transaction", query(c, "SELECT 3"));
      // setQueryTimeout: MariaDB's SET STATEMENT max_statement_time=1 FOR <the query>.
      try (Statement s = c.createStatement()) {
        s.setQueryTimeout(1);
        out.put("timeout", errorOf(() -> s.executeQuery("SELECT SLEEP(5) FROM customers WHERE id = 1")));
        out.put("within_timeout", rows(s.executeQuery("SELECT email FROM customers WHERE id = 1")));
      }
      // Without allowMultiQueries the driver does not ask for multi-statements: the text is refused whole.
      out.put("multi_off", errorOf(() -> c.createStatement().execute(
          "INSERT INTO orders (customer_id, item) VALUES (2, '" + TAG + "-single'); INSERT INTO orders (customer_id, item) VALUES (2, '" + TAG + "-single')")));
    }

    // useServerPrepStmts=true: COM_STMT_PREPARE/EXECUTE and binary rows, masked as well.
    try (Connection server = connect(TLS + "&useServerPrepStmts=true")) {
      out.put("server_prepared", prepared(server, "SELECT email, card, card_number FROM customers WHERE id = ? /* " + TAG + " */", 1, 2));
      // A server-prepared statement streamed with a fetch size.
      try (PreparedStatement p = server.prepareStatement("SELECT email FROM people WHERE id <= ? ORDER BY id")) {
        p.setFetchSize(Integer.MIN_VALUE);
        p.setInt(1, 500);
        ResultSet rs = p.executeQuery();
        int count = 0, leaked = 0;
        while (rs.next()) {
          count++;
          if (rs.getString(1).matches("^u\\d+@.*")) leaked++;
        }
        out.put("server_streamed", Map.of("rows", count, "leaked", leaked));
      }
    }

    // allowMultiQueries=true: several statements in one text, each result masked; one refused statement refuses the whole text.
    try (Connection m = connect(TLS + "&allowMultiQueries=true"); Statement s = m.createStatement()) {
      List<Object> multi = new ArrayList<>();
      boolean isResult = s.execute("SELECT email FROM customers WHERE id = 1; SELECT phone FROM customers WHERE id = 1");
      while (isResult) {
        multi.addAll(rows(s.getResultSet()));
        isResult = s.getMoreResults();
      }
      out.put("multi", multi);
      out.put("multi_refused", errorOf(() -> s.execute("INSERT INTO orders (customer_id, item) VALUES (2, '" + TAG + "-multi'); DROP TABLE orders")));
      out.put("after_multi_refused", query(m, "SELECT 2"));
    }

    out.put("no_tls", errorOf(() -> connect("").close()));
    // CAs that did not sign the endpoint's certificate (Debian's bundle): the TLS check must fail.
    out.put("untrusted", errorOf(() -> connect("useSsl=true&serverSslCert=/etc/ssl/certs/ca-certificates.crt").close()));
    out.put("bad_token", errorOf(() -> connect(TLS, "not-a-token").close()));
    System.out.println(json(out));
  }

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof Map<?, ?> m) {
      List<String> parts = new ArrayList<>();
      m.forEach((k, x) -> parts.add(json(k.toString()) + ":" + json(x)));
      return "{" + String.join(",", parts) + "}";
    }
    if (v instanceof List<?> l) {
      List<String> parts = new ArrayList<>();
      l.forEach((x) -> parts.add(json(x)));
      return "[" + String.join(",", parts) + "]";
    }
    StringBuilder s = new StringBuilder("\"");
    for (char ch : v.toString().toCharArray()) {
      if (ch == '"' || ch == '\\') s.append('\\').append(ch);
      else if (ch < 0x20) s.append(String.format("\\u%04x", (int) ch));
      else s.append(ch);
    }
    return s.append('"').toString();
  }
}
