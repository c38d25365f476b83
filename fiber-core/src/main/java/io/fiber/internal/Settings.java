package io.fiber.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Every setting of the runtime that an agent option or a {@code fiber.*} system property gives:
 * its option key, its property, its default, its grammar and its error message, in one place. Not
 * an application API.
 *
 * <p>The agent's option {@code key=value} is checked here at start-up and handed to the runtime as
 * the system property, which the runtime parses here again when it first needs it; both sides use
 * the same {@link Setting}, so they cannot drift apart. A bad value is an
 * {@link IllegalArgumentException} naming where it came from, the value, and what it must be:
 * {@code option carriers=0 is invalid: it must be a whole number from 1 to 4096}, or
 * {@code system property fiber.carriers=0 is invalid: ...}.
 */
public final class Settings {
    /** The most carriers a scheduler may have. */
    public static final int MAX_CARRIERS = 4096;
    /** The longest handoff threshold the option takes, in milliseconds. */
    public static final long MAX_HANDOFF_MILLIS = 9_999_999;
    /** The handoff threshold when nothing sets it. */
    public static final Duration DEFAULT_HANDOFF = Duration.ofMillis(10);

    /** The call families {@link #OFFLOAD} may name: {@code io.fiber.detector.BlockingCategory#offloadFamily()}. */
    public static final List<String> OFFLOAD_FAMILIES = List.of("file", "dns", "process");

    /** Carrier loops of the default scheduler; null (unset): one per available processor. */
    public static final Setting<Integer> CARRIERS = new Setting<>("carriers", "fiber.carriers", null,
            "N", "carrier loops of the default scheduler, 1 to " + MAX_CARRIERS,
            "a whole number from 1 to " + MAX_CARRIERS, wholeNumber(1, MAX_CARRIERS));

    /** The blocking-call detector's starting mode: {@code fail}, {@code report} or {@code off}. */
    public static final Setting<String> DETECTOR = new Setting<>("detector", "fiber.detector", "report",
            "fail|report|off", "what a blocking call in a fiber leads to; default report",
            "fail, report or off", oneOf("fail", "report", "off"));

    /** How long one fiber may hold its carrier before the carrier's other work moves; {@link Duration#ZERO}: never. */
    public static final Setting<Duration> HANDOFF = new Setting<>("handoff", "fiber.handoff", DEFAULT_HANDOFF,
            "Nms|off", "how long a fiber may hold its carrier before the carrier's other work moves to a new thread; default 10ms",
            "off or a whole number of milliseconds from 1 to " + MAX_HANDOFF_MILLIS + " followed by ms, such as 10ms", Settings::handoff);

    /** The call families whose blocking JDK methods run on the offload pool; empty: none. */
    public static final Setting<Set<String>> OFFLOAD = new Setting<>("offload", "fiber.offload", Set.of(),
            "none|file+dns+process", "call families run on the offload pool instead of the carrier; default none",
            "none, or some of file, dns and process joined by +, such as file+dns", Settings::offload);

    /** How fibers' name lookups run: {@code offload}, {@code nonblocking} or {@code off}. */
    public static final Setting<String> DNS = new Setting<>("dns", "fiber.dns", "offload",
            "offload|nonblocking|off", "how fibers' name lookups run; default offload",
            "offload, nonblocking or off", oneOf("offload", "nonblocking", "off"));

    /** The agent's options, in the order its usage line lists them. */
    public static final List<Setting<?>> AGENT_OPTIONS = List.of(CARRIERS, DETECTOR, HANDOFF, OFFLOAD, DNS);

    private Settings() { }

    /** Where a value came from, for its error message. */
    public enum Source { AGENT_OPTION, SYSTEM_PROPERTY }

    /**
     * One setting. {@code parser} returns the value of a well-formed text and null otherwise; it may
     * also throw {@link IllegalArgumentException} with a more precise reason, to which the grammar
     * is added.
     */
    public static final class Setting<T> {
        private final String key;
        private final String property;
        private final T defaultValue;
        private final String form;
        private final String description;
        private final String grammar;
        private final Function<String, T> parser;

        Setting(String key, String property, T defaultValue, String form, String description, String grammar,
                Function<String, T> parser) {
            this.key = key;
            this.property = property;
            this.defaultValue = defaultValue;
            this.form = form;
            this.description = description;
            this.grammar = grammar;
            this.parser = parser;
        }

        /** The agent option's key, such as {@code carriers}. */
        public String key() {
            return key;
        }

        /** The system property, such as {@code fiber.carriers}. */
        public String property() {
            return property;
        }

        /** The value when nothing sets it. */
        public T defaultValue() {
            return defaultValue;
        }

        /** Parses {@code text} (surrounding blanks ignored) given through {@code source}. */
        public T parse(String text, Source source) {
            String name = source == Source.AGENT_OPTION ? "option " + key : "system property " + property;
            T value;
            try {
                value = parser.apply(text.trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + "=" + text + " is invalid: " + e.getMessage() + "; it must be " + grammar, e);
            }
            if (value == null) {
                throw new IllegalArgumentException(name + "=" + text + " is invalid: it must be " + grammar);
            }
            return value;
        }

        /** The system property's value, parsed, or the default when it is not set. */
        public T fromSystemProperty() {
            String text = System.getProperty(property);
            return text == null ? defaultValue : parse(text, Source.SYSTEM_PROPERTY);
        }

        /** {@code carriers=N (carrier loops ...)}: this option in the agent's usage line. */
        String usage() {
            return key + "=" + form + " (" + description + ")";
        }

        @Override
        public String toString() {
            return key + " (" + property + ")";
        }
    }

    /** The agent's list of valid options, for its error messages. */
    public static String usage() {
        List<String> parts = new ArrayList<>();
        for (Setting<?> s : AGENT_OPTIONS) {
            parts.add(s.usage());
        }
        return "valid options: " + String.join(", ", parts);
    }

    /** A whole number from {@code min} to {@code max}; null for anything else. */
    private static Function<String, Integer> wholeNumber(int min, int max) {
        return text -> {
            try {
                int n = Integer.parseInt(text);
                return n >= min && n <= max ? n : null;
            } catch (NumberFormatException e) {
                return null;
            }
        };
    }

    private static Duration handoff(String text) {
        if (text.equals("off")) {
            return Duration.ZERO;
        }
        if (text.matches("[1-9][0-9]{0,6}ms")) {
            return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
        }
        return null;
    }

    private static Set<String> offload(String text) {
        if (text.equals("none")) {
            return Set.of();
        }
        Set<String> families = new LinkedHashSet<>();
        for (String family : text.split("\\+", -1)) {
            if (!OFFLOAD_FAMILIES.contains(family)) {
                throw new IllegalArgumentException("'" + family + "' is not a call family");
            }
            families.add(family);
        }
        return Collections.unmodifiableSet(families);
    }

    private static Function<String, String> oneOf(String... choices) {
        return text -> List.of(choices).contains(text) ? text : null;
    }
}
