package io.fiber.agent;

import io.fiber.detector.BlockingCategory;
import io.fiber.internal.Settings;
import io.fiber.internal.Settings.Setting;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.EnumSet;
import java.util.Set;

/**
 * The agent's options: {@code -javaagent:fiber-agent.jar=key=value,key=value}, each one of
 * {@link Settings#AGENT_OPTIONS}, whose grammar and messages live there, shared with the runtime.
 * Parsing is strict: an unknown key, a repeated key or a bad value is an error that names the
 * option and the valid choices, so a typo stops the JVM at start-up instead of being silently
 * ignored. A valid option becomes its system property ({@link #toSystemProperties}), which the
 * runtime reads with the same {@link Setting}.
 */
final class AgentOptions {
    /** The options given, by setting, as the user wrote them (trimmed), in the order given. */
    private final Map<Setting<?>, String> given;

    private AgentOptions(Map<Setting<?>, String> given) {
        this.given = given;
    }

    static AgentOptions parse(String args) {
        Map<Setting<?>, String> given = new LinkedHashMap<>();
        if (args == null || args.isBlank()) {
            return new AgentOptions(given);
        }
        for (String pair : args.split(",")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("option '" + pair + "' is not key=value; " + Settings.usage());
            }
            String key = pair.substring(0, eq).trim();
            String value = pair.substring(eq + 1).trim();
            Setting<?> setting = Settings.AGENT_OPTIONS.stream().filter(s -> s.key().equals(key)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown option '" + key + "'; " + Settings.usage()));
            if (given.containsKey(setting)) {
                throw new IllegalArgumentException("option '" + key + "' is given twice; " + Settings.usage());
            }
            setting.parse(value, Settings.Source.AGENT_OPTION);
            given.put(setting, value);
        }
        if (!given.containsKey(Settings.THREADS) || !Settings.THREADS.parse(given.get(Settings.THREADS), Settings.Source.AGENT_OPTION).equals("fibers")) {
            for (Setting<?> selectors : java.util.List.of(Settings.THREADS_EXCLUDE, Settings.THREADS_ONLY)) {
                if (given.containsKey(selectors)) {
                    throw new IllegalArgumentException(Settings.threadSelectorsNeedFibers(selectors));
                }
            }
        }
        if (given.containsKey(Settings.CONSOLE_TOKEN) && !given.containsKey(Settings.CONSOLE)) {
            throw new IllegalArgumentException("option console.token is the console's token, and no console= is given;"
                    + " add console=PORT or console=HOST:PORT, or drop console.token");
        }
        AgentOptions options = new AgentOptions(given);
        if (options.console() != null) {
            String refused = Settings.consoleNeedsToken(options.console(), options.consoleToken(),
                    "add console.token=SECRET (" + Settings.CONSOLE_TOKEN.grammar() + "), or bind console= to 127.0.0.1");
            if (refused != null) {
                throw new IllegalArgumentException("option console=" + given.get(Settings.CONSOLE) + ": " + refused);
            }
        }
        return options;
    }

    /**
     * Hands every given option to the runtime as its system property, but the console's token: the
     * agent starts the console itself, and system properties are readable by any code in the JVM and
     * from outside it ({@code jcmd VM.system_properties}, JMX's runtime bean).
     */
    void toSystemProperties() {
        given.forEach((setting, value) -> {
            if (setting != Settings.CONSOLE_TOKEN) {
                System.setProperty(setting.property(), value);
            }
        });
    }

    /** The console's address ({@code console=}); null when it is not given. */
    java.net.InetSocketAddress console() {
        String text = given.get(Settings.CONSOLE);
        return text == null ? null : Settings.CONSOLE.parse(text, Settings.Source.AGENT_OPTION);
    }

    /** The console's token ({@code console.token=}); null when it is not given. */
    String consoleToken() {
        String text = given.get(Settings.CONSOLE_TOKEN);
        return text == null ? null : Settings.CONSOLE_TOKEN.parse(text, Settings.Source.AGENT_OPTION);
    }

    /** Whether JDK virtual threads become fibers ({@code virtual=fibers}, the default). */
    boolean virtualThreadsAsFibers() {
        String virtual = given.get(Settings.VIRTUAL);
        return (virtual == null ? Settings.VIRTUAL.defaultValue() : Settings.VIRTUAL.parse(virtual, Settings.Source.AGENT_OPTION))
                .equals("fibers");
    }

    /** Whether the platform threads application code starts become fibers ({@code threads=fibers}). */
    /** Whether {@code max-fibers} bounds the default scheduler's live fibers. */
    boolean boundsLiveFibers() {
        return given.containsKey(Settings.MAX_FIBERS);
    }

    boolean applicationThreadsAsFibers() {
        String threads = given.get(Settings.THREADS);
        return threads != null && Settings.THREADS.parse(threads, Settings.Source.AGENT_OPTION).equals("fibers");
    }

    /** {@code threads.exclude=}'s selectors, as written; empty when it is not given. */
    java.util.List<String> threadsExcluded() {
        String text = given.get(Settings.THREADS_EXCLUDE);
        return text == null ? Settings.THREADS_EXCLUDE.defaultValue() : Settings.THREADS_EXCLUDE.parse(text, Settings.Source.AGENT_OPTION);
    }

    /** {@code threads.only=}'s selectors, as written; empty when it is not given. */
    java.util.List<String> threadsOnly() {
        String text = given.get(Settings.THREADS_ONLY);
        return text == null ? Settings.THREADS_ONLY.defaultValue() : Settings.THREADS_ONLY.parse(text, Settings.Source.AGENT_OPTION);
    }

    /** The call families {@code offload=} names; empty when it is not given. */
    Set<BlockingCategory> offloaded() {
        String offload = given.get(Settings.OFFLOAD);
        Set<String> families = offload == null ? Settings.OFFLOAD.defaultValue() : Settings.OFFLOAD.parse(offload, Settings.Source.AGENT_OPTION);
        Set<BlockingCategory> offloaded = EnumSet.noneOf(BlockingCategory.class);
        for (BlockingCategory category : BlockingCategory.values()) {
            if (category.offloadFamily() != null && families.contains(category.offloadFamily())) {
                offloaded.add(category);
            }
        }
        return offloaded;
    }
}
