package io.fiber.examples;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link DemoDatabase} on real H2 databases: every row answers as {@link DemoDatabase#answer} says,
 * each default database is a new one, a URL given is used (and its table refilled), and bad settings
 * or an unreachable database are named.
 */
class DemoDatabaseTest {

    @Test
    void everyRowAnswersAsComputedFromItsId() throws SQLException {
        try (DemoDatabase db = DemoDatabase.open(DemoDatabase.Settings.IN_MEMORY_H2)) {
            assertEquals("H2 in memory, 10 pooled connections", db.description());
            for (int id = 1; id <= DemoDatabase.ROWS; id++) {
                assertEquals(DemoDatabase.answer(id), DemoDatabase.lookUp(db.dataSource(), id));
            }
            assertNull(DemoDatabase.lookUp(db.dataSource(), 0));
            assertNull(DemoDatabase.lookUp(db.dataSource(), DemoDatabase.ROWS + 1));
        }
    }

    @Test
    void eachDefaultDatabaseIsANewOne() throws SQLException {
        try (DemoDatabase first = DemoDatabase.open(DemoDatabase.Settings.IN_MEMORY_H2);
             DemoDatabase second = DemoDatabase.open(DemoDatabase.Settings.IN_MEMORY_H2)) {
            execute(first, "delete from " + DemoDatabase.TABLE + " where id = 1");
            assertNull(DemoDatabase.lookUp(first.dataSource(), 1));
            assertEquals(DemoDatabase.answer(1), DemoDatabase.lookUp(second.dataSource(), 1));
        }
    }

    @Test
    void aGivenUrlIsUsedAndItsTableRefilled() throws SQLException {
        DemoDatabase.Settings settings = DemoDatabase.Settings.IN_MEMORY_H2
                .with("--db", "jdbc:h2:mem:demo-database-test;DB_CLOSE_DELAY=-1")
                .with("--db-user", "sa").with("--db-password", "").checked();
        try (DemoDatabase db = DemoDatabase.open(settings)) {
            assertTrue(db.description().startsWith("H2 2."), db.description());
            execute(db, "update " + DemoDatabase.TABLE + " set name = 'changed'");
        }
        try (DemoDatabase reopened = DemoDatabase.open(settings)) {
            assertEquals(DemoDatabase.answer(5), DemoDatabase.lookUp(reopened.dataSource(), 5));
            try (Connection c = reopened.dataSource().getConnection(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("select count(*) from " + DemoDatabase.TABLE)) {
                assertTrue(r.next());
                assertEquals(DemoDatabase.ROWS, r.getInt(1));
            }
        }
    }

    @Test
    void badSettingsAndUnreachableDatabasesAreNamed() {
        IllegalArgumentException notJdbc = assertThrows(IllegalArgumentException.class,
                () -> DemoDatabase.Settings.IN_MEMORY_H2.with("--db", "jdbc:"));
        assertTrue(notJdbc.getMessage().contains("--db needs a JDBC URL"), notJdbc.getMessage());
        IllegalArgumentException passwordAlone = assertThrows(IllegalArgumentException.class,
                () -> DemoDatabase.Settings.IN_MEMORY_H2.with("--db-password", "x").checked());
        assertTrue(passwordAlone.getMessage().contains("go with --db URL"), passwordAlone.getMessage());

        SQLException unreachable = assertThrows(SQLException.class, () -> DemoDatabase.open(
                DemoDatabase.Settings.IN_MEMORY_H2.with("--db", "jdbc:postgresql://127.0.0.1:1/none")));
        assertTrue(unreachable.getMessage().startsWith("could not open the database jdbc:postgresql://127.0.0.1:1/none: "),
                unreachable.getMessage());
    }

    private static void execute(DemoDatabase db, String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        }
    }
}
