package io.fiber.benchmarks.runner;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class CommandLineTest {
    private static CommandLine parse(String... args) {
        return CommandLine.parse(args, Set.of("--rounds", "--servers"), Set.of("--no-pin"));
    }

    @Test
    void readsValuesFlagsAndDefaults() {
        CommandLine line = parse("--rounds", "2", "--no-pin");
        assertEquals(2, line.integer("--rounds", 3));
        assertTrue(line.flag("--no-pin"));
        assertEquals("all", line.string("--servers", "all"));
    }

    @Test
    void anUnknownOptionIsNamedWithTheOptionsThereAre() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("--help"));
        assertEquals("unknown option '--help'; the options are [--rounds, --servers] (each with a value) and [--no-pin]", e.getMessage());
    }

    @Test
    void aMissingOrRepeatedValueIsRefused() {
        assertEquals("option --rounds needs a value", assertThrows(IllegalArgumentException.class, () -> parse("--rounds")).getMessage());
        assertEquals("option --rounds is given twice",
                assertThrows(IllegalArgumentException.class, () -> parse("--rounds", "1", "--rounds", "2")).getMessage());
    }
}
