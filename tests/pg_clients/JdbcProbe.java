// A JDBC client for the sandbox's PostgreSQL endpoint (run with `java -cp postgresql.jar JdbcProbe.java URL`):
// lists tables and columns through DatabaseMetaData, then runs a parameterised join. Prints one
// line per fact, tab-separated, for the test to compare.
import java.sql.*;

public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "analyst", args.length > 1 ? args[1] : "")) {
            DatabaseMetaData meta = c.getMetaData();
            System.out.println("product\t" + meta.getDatabaseProductName());
            try (ResultSet r = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
                while (r.next()) System.out.println("table\t" + r.getString("TABLE_SCHEM") + "." + r.getString("TABLE_NAME"));
            }
            try (ResultSet r = meta.getColumns(null, "sales", "orders", "%")) {
                while (r.next()) {
                    System.out.println("column\t" + r.getString("COLUMN_NAME") + "\t" + r.getString("TYPE_NAME")
                        + "\t" + r.getInt("DECIMAL_DIGITS"));
                }
            }
            try (ResultSet r = meta.getPrimaryKeys(null, "sales", "orders")) {
                while (r.next()) System.out.println("pk\t" + r.getString("COLUMN_NAME"));
            }
            try (ResultSet r = meta.getImportedKeys(null, "sales", "orders")) {
                while (r.next()) {
                    System.out.println("fk\t" + r.getString("FKCOLUMN_NAME") + "\t" + r.getString("PKTABLE_SCHEM") + "."
                        + r.getString("PKTABLE_NAME") + "\t" + r.getString("PKCOLUMN_NAME"));
                }
            }
            try (ResultSet r = meta.getIndexInfo(null, "sales", "orders", true, true)) {
                while (r.next()) System.out.println("index\t" + r.getString("INDEX_NAME") + "\t" + r.getString("COLUMN_NAME"));
            }
            String sql = "SELECT c.name, count(*) AS n, sum(o.amount) AS total FROM sales.orders o "
                + "JOIN sales.customers c ON c.id = o.customer_id WHERE o.customer_id <= ? AND c.signup >= ? "
                + "GROUP BY c.name ORDER BY c.name";
            try (PreparedStatement p = c.prepareStatement(sql)) {
                p.setInt(1, 5);
                p.setDate(2, Date.valueOf("2024-01-01"));
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) System.out.println("row\t" + r.getString(1) + "\t" + r.getLong(2) + "\t" + r.getBigDecimal(3));
                }
            }
            try (Statement s = c.createStatement()) {
                s.executeQuery("DROP TABLE sales.orders");
            } catch (SQLException e) {
                System.out.println("refused\t" + e.getSQLState());
            }
        }
    }
}
