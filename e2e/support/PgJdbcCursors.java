import java.sql.*;
import java.util.Properties;

/**
 * A long pooled connection: many fetch-size queries, each read through a named portal pgJDBC names anew
 * (C_1, C_2, ...), committed every 50. The gateway must forget portals the server has closed, or the
 * session would refuse every query once it holds its bound of cursors. Prints {"done":N,"last":...} or
 * the error that stopped it.
 */
public class PgJdbcCursors {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + System.getenv("GW_PORT") + "/" + System.getenv("GW_DB") + "?sslmode=require&ApplicationName=pgjdbc-cursors";
    Properties p = new Properties();
    p.setProperty("user", System.getenv("GW_USER"));
    p.setProperty("password", System.getenv("GW_TOKEN"));
    int n = Integer.parseInt(System.getenv("GW_QUERIES"));
    try (Connection c = DriverManager.getConnection(url, p)) {
      c.setAutoCommit(false);
      int done = 0;
      String last = null;
      try (PreparedStatement ps = c.prepareStatement("SELECT email FROM customers WHERE id = ?")) {
        ps.setFetchSize(1);
        for (int i = 0; i < n; i++) {
          ps.setInt(1, 1);
          try (ResultSet rs = ps.executeQuery()) { while (rs.next()) last = rs.getString(1); }
          if (i % 50 == 49) c.commit();
          done++;
        }
        c.commit();
        System.out.println("{\"done\":" + done + ",\"last\":\"" + last + "\"}");
      } catch (SQLException e) {
        System.out.println("{\"done\":" + done + ",\"error\":\"" + e.getSQLState() + " " + e.getMessage().replace("\"", "'") + "\"}");
      }
    }
  }
}
