package io.fiber.benchmarks.runner;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name value} and {@code --flag} options of the benchmarks' programs (the echo load
 * driver and runner, the servers benchmark), so all parse and reject options the same way. An unknown or repeated
 * option, or a missing value, is an {@link IllegalArgumentException} that names it.
 */
public final class CommandLine {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    private CommandLine() { }

    /**
     * @param valueOptions options followed by a value, e.g. {@code --port}
     * @param flagOptions  options that stand alone, e.g. {@code --quick}
     */
    public static CommandLine parse(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        CommandLine line = new CommandLine();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            boolean repeated;
            if (valueOptions.contains(option)) {
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException("option " + option + " needs a value");
                }
                repeated = line.values.put(option, args[++i]) != null;
            } else if (flagOptions.contains(option)) {
                repeated = !line.flags.add(option);
            } else {
                throw new IllegalArgumentException("unknown option '" + option + "'; the options are "
                        + new java.util.TreeSet<>(valueOptions) + " (each with a value) and " + new java.util.TreeSet<>(flagOptions));
            }
            if (repeated) {
                throw new IllegalArgumentException("option " + option + " is given twice");
            }
        }
        return line;
    }

    public boolean flag(String option) {
        return flags.contains(option);
    }

    public String string(String option, String otherwise) {
        return values.getOrDefault(option, otherwise);
    }

    public int integer(String option, int otherwise) {
        String value = values.get(option);
        if (value == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + option + " needs a whole number, not '" + value + "'");
        }
    }

    /** A duration given in seconds, fractions allowed ({@code 0.5}). */
    public Duration seconds(String option, Duration otherwise) {
        String value = values.get(option);
        if (value == null) {
            return otherwise;
        }
        try {
            double seconds = Double.parseDouble(value);
            if (!(seconds > 0)) {
                throw new NumberFormatException();
            }
            return Duration.ofNanos((long) (seconds * 1e9));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + option + " needs a positive number of seconds, not '" + value + "'");
        }
    }
}
