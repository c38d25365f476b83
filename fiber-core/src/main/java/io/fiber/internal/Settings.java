package io.fiber.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
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
 * the same {@link Setting}, so they cannot drift apart. Some settings are system properties only
 * (the DNS resolver's servers, timeout and attempts): they have no option key, and the agent's
 * usage line leaves them out. A bad value is an {@link IllegalArgumentException} naming where it
 * came from, the value, and what it must be:
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
    /** The port of a DNS server named without one, in {@link #DNS_SERVERS} and in resolv.conf. */
    public static final int DNS_PORT = 53;
    /** The longest wait for one DNS server's answer that {@link #DNS_TIMEOUT} takes, in milliseconds. */
    public static final int MAX_DNS_TIMEOUT_MILLIS = 60_000;
    /** The most rounds over the DNS servers that {@link #DNS_ATTEMPTS} takes. */
    public static final int MAX_DNS_ATTEMPTS = 10;

    /** What {@link #THREADS_EXCLUDE} and {@link #THREADS_ONLY} take: the grammar of {@link #threadSelectors}. */
    static final String THREAD_SELECTOR_GRAMMAR = "one or more selectors joined by +, each a class (com.example.Worker)"
            + " or a package with its subpackages (com.example.*) whose code creates the thread, or name:GLOB for the"
            + " thread's name, where * matches any text (name:worker-*)";

    /** The call families {@link #OFFLOAD} may name: {@code io.fiber.detector.BlockingCategory#offloadFamily()}. */
    public static final List<String> OFFLOAD_FAMILIES = List.of("file", "dns", "process");

    /** Carrier loops of the default scheduler; null (unset): one per available processor. */
    public static final Setting<Integer> CARRIERS = Setting.agentOption("carriers", null,
            "N", "carrier loops of the default scheduler, 1 to " + MAX_CARRIERS,
            "a whole number from 1 to " + MAX_CARRIERS, wholeNumber(1, MAX_CARRIERS));

    /** The blocking-call detector's starting mode: {@code fail}, {@code report} or {@code off}. */
    public static final Setting<String> DETECTOR = Setting.agentOption("detector", "report",
            "fail|report|off", "what a blocking call in a fiber leads to; default report",
            "fail, report or off", oneOf("fail", "report", "off"));

    /** How long one fiber may hold its carrier before the carrier's other work moves; {@link Duration#ZERO}: never. */
    public static final Setting<Duration> HANDOFF = Setting.agentOption("handoff", DEFAULT_HANDOFF,
            "Nms|off", "how long a fiber may hold its carrier before the carrier's other work moves to a new thread; default 10ms",
            "off or a whole number of milliseconds from 1 to " + MAX_HANDOFF_MILLIS + " followed by ms, such as 10ms", Settings::handoff);

    /** The call families whose blocking JDK methods run on the offload pool; empty: none. */
    public static final Setting<Set<String>> OFFLOAD = Setting.agentOption("offload", Set.of(),
            "none|file+dns+process", "call families run on the offload pool instead of the carrier; default none",
            "none, or some of file, dns and process joined by +, such as file+dns", Settings::offload);

    /** How fibers' name lookups run: {@code offload}, {@code nonblocking} or {@code off}. */
    public static final Setting<String> DNS = Setting.agentOption("dns", "offload",
            "offload|nonblocking|off", "how fibers' name lookups run; default offload",
            "offload, nonblocking or off", oneOf("offload", "nonblocking", "off"));

    /**
     * Where the JDK's virtual threads run under the agent: {@code fibers} (as fibers of the current
     * scheduler, the default one outside fibers) or {@code jdk} (on the JDK's own scheduler). Read by
     * the agent only: without the agent, virtual threads stay the JDK's.
     */
    public static final Setting<String> VIRTUAL = Setting.agentOption("virtual", "fibers",
            "fibers|jdk", "where the JDK's virtual threads run: as fibers on our carriers, or on the JDK's scheduler; default fibers",
            "fibers or jdk", oneOf("fibers", "jdk"));

    /**
     * Whether the threads application code starts become fibers: {@code platform} (the default: they
     * stay platform threads) or {@code fibers} ({@code new Thread}, {@code Thread.ofPlatform()} and the
     * JDK's default thread factory, called from application code). Read by the agent only.
     */
    public static final Setting<String> THREADS = Setting.agentOption("threads", "platform",
            "platform|fibers", "whether the threads application code starts become fibers; default platform",
            "platform or fibers", oneOf("platform", "fibers"));

    /**
     * With {@code threads=fibers}: the application threads that stay platform threads, by what
     * creates them or by their name ({@link #threadSelectors}); empty: none.
     */
    public static final Setting<List<String>> THREADS_EXCLUDE = Setting.agentOption("threads.exclude", List.of(),
            "SELECTOR+SELECTOR", "with threads=fibers, the application threads that stay platform threads",
            THREAD_SELECTOR_GRAMMAR, Settings::threadSelectors);

    /**
     * With {@code threads=fibers}: the only application threads that become fibers, by what creates
     * them or by their name ({@link #threadSelectors}); empty (not given): all of them.
     */
    public static final Setting<List<String>> THREADS_ONLY = Setting.agentOption("threads.only", List.of(),
            "SELECTOR+SELECTOR", "with threads=fibers, the only application threads that become fibers",
            THREAD_SELECTOR_GRAMMAR, Settings::threadSelectors);

    /** The largest bound {@link #MAX_FIBERS} takes. */
    public static final int MAX_MAX_FIBERS = 100_000_000;

    /**
     * A bound on the default scheduler's live fibers and what a spawn at the bound does
     * ({@code FiberScheduler.Builder.maxLiveFibers}): at most {@code max} live fibers; a spawner waits
     * {@code maxWaitNanos} for one to end (-1: as long as it takes; 0: refused at once).
     */
    public record FiberBound(int max, long maxWaitNanos) { }

    /** At most N live fibers on the default scheduler (under the agent, the program's threads that are fibers); null (unset): no bound. */
    public static final Setting<FiberBound> MAX_FIBERS = Setting.agentOption("max-fibers", null,
            "N[:wait|:wait=Tms|:reject]", "at most N live fibers on the default scheduler; at the bound a spawn or"
                    + " thread start waits for one to end (default), waits at most T ms, or is refused; default no bound",
            "a whole number from 1 to " + MAX_MAX_FIBERS + ", optionally followed by :wait, :wait=Tms (T from 1 to "
                    + MAX_HANDOFF_MILLIS + ") or :reject, such as 10000 or 10000:reject", Settings::fiberBound);

    /** The fewest characters a {@link #CONSOLE_TOKEN} may have. */
    public static final int MIN_CONSOLE_TOKEN_LENGTH = 16;

    /**
     * The live console's address ({@code io.fiber.FiberConsole}): {@code PORT} (on 127.0.0.1; 0: a
     * free port), or {@code HOST:PORT} with an IP address, {@code localhost} or {@code *} (every
     * interface) for HOST. Addresses only, never names to look up: the agent reads it before the
     * program starts, where a DNS lookup could hang start-up. Null (unset): no console.
     */
    public static final Setting<InetSocketAddress> CONSOLE = Setting.agentOption("console", null,
            "PORT|HOST:PORT", "serve the live console, a web page, on this address (PORT alone: 127.0.0.1); default none",
            "a port from 0 (any free one) to 65535, or HOST:PORT with HOST an IP address ([::1] for IPv6), localhost or *"
                    + " (every interface, which needs console.token), such as 8700 or 127.0.0.1:8700", Settings::consoleAddress);

    /**
     * The token every request to the live console must present; needed for a {@link #CONSOLE} address
     * that is not loopback, optional otherwise. Null (unset): none.
     */
    public static final Setting<String> CONSOLE_TOKEN = Setting.agentOption("console.token", null,
            "TOKEN", "with console=, a secret every request to the console must present; needed unless console= is loopback",
            "at least " + MIN_CONSOLE_TOKEN_LENGTH + " characters, each a letter, a digit or one of - . _ ~", Settings::consoleToken);

    /**
     * Why a console on {@code address} with {@code token} (null: none) is refused, or null when it is
     * not: a console reachable from other machines shows thread names and stacks, so it needs a token.
     */
    public static String consoleNeedsToken(InetSocketAddress address, String token, String how) {
        if (token != null || address.getAddress().isLoopbackAddress()) {
            return null;
        }
        return "the console on " + address.getAddress().getHostAddress() + ":" + address.getPort()
                + " would be reachable from other machines, so it needs a token: " + how;
    }

    /** Why {@link #THREADS_EXCLUDE} or {@link #THREADS_ONLY} given without {@code threads=fibers} is refused. */
    public static String threadSelectorsNeedFibers(Setting<?> given) {
        return "option " + given.key() + " selects application threads to make fibers, which only threads=fibers does;"
                + " add threads=fibers or drop " + given.key();
    }

    /**
     * For {@code fiber.dns=nonblocking}: the DNS servers to ask instead of resolv.conf's; null (unset):
     * resolv.conf's. Addresses only, since a DNS server cannot be found by name.
     */
    public static final Setting<List<InetSocketAddress>> DNS_SERVERS = Setting.systemProperty("fiber.dns.servers", null,
            "comma-separated IP addresses, each with an optional :PORT (an IPv6 address in brackets then),"
                    + " such as 127.0.0.1:5353, 10.0.0.2, [::1]:53 or ::1", Settings::dnsServers);

    /** For {@code fiber.dns=nonblocking}: how long to wait for one server's answer; null (unset): resolv.conf's {@code timeout:}. */
    public static final Setting<Duration> DNS_TIMEOUT = Setting.systemProperty("fiber.dns.timeout.millis", null,
            "a whole number of milliseconds from 1 to " + MAX_DNS_TIMEOUT_MILLIS,
            wholeNumber(1, MAX_DNS_TIMEOUT_MILLIS).andThen(n -> n == null ? null : Duration.ofMillis(n)));

    /** For {@code fiber.dns=nonblocking}: rounds over the servers; null (unset): resolv.conf's {@code attempts:}. */
    public static final Setting<Integer> DNS_ATTEMPTS = Setting.systemProperty("fiber.dns.attempts", null,
            "a whole number from 1 to " + MAX_DNS_ATTEMPTS, wholeNumber(1, MAX_DNS_ATTEMPTS));

    /** The agent's options, in the order its usage line lists them. */
    public static final List<Setting<?>> AGENT_OPTIONS = List.of(CARRIERS, DETECTOR, HANDOFF, OFFLOAD, DNS, VIRTUAL,
            THREADS, THREADS_EXCLUDE, THREADS_ONLY, MAX_FIBERS, CONSOLE, CONSOLE_TOKEN);

    private Settings() { }

    /** Where a value came from, for its error message. */
    public enum Source { AGENT_OPTION, SYSTEM_PROPERTY }

    /**
     * One setting: an agent option and the system property {@code fiber.KEY} it becomes, or a
     * system property only, which has no key. {@code parser} returns the value of a well-formed
     * text and null otherwise; it may also throw {@link IllegalArgumentException} with a more
     * precise reason, to which the grammar is added.
     */
    public static final class Setting<T> {
        private final String key;
        private final String property;
        private final T defaultValue;
        private final String form;
        private final String description;
        private final String grammar;
        private final Function<String, T> parser;

        private Setting(String key, String property, T defaultValue, String form, String description, String grammar,
                        Function<String, T> parser) {
            this.key = key;
            this.property = property;
            this.defaultValue = defaultValue;
            this.form = form;
            this.description = description;
            this.grammar = grammar;
            this.parser = parser;
        }

        /** An agent option {@code key=...}, which the agent hands on as the system property {@code fiber.key}. */
        static <T> Setting<T> agentOption(String key, T defaultValue, String form, String description, String grammar,
                                          Function<String, T> parser) {
            return new Setting<>(key, "fiber." + key, defaultValue, form, description, grammar, parser);
        }

        /** A system property that no agent option sets: it has no {@link #key()} and no place in the usage line. */
        static <T> Setting<T> systemProperty(String property, T defaultValue, String grammar, Function<String, T> parser) {
            return new Setting<>(null, property, defaultValue, null, null, grammar, parser);
        }

        /** Whether an agent option gives this setting; false for a system property only. */
        public boolean isAgentOption() {
            return key != null;
        }

        /**
         * The agent option's key, such as {@code carriers}.
         *
         * @throws IllegalStateException for a system property only
         */
        public String key() {
            if (key == null) {
                throw new IllegalStateException(property + " is a system property only, not an agent option");
            }
            return key;
        }

        /** The system property, such as {@code fiber.carriers}. */
        public String property() {
            return property;
        }

        /** What a valid value is, in words, as error messages say it. */
        public String grammar() {
            return grammar;
        }

        /** The value when nothing sets it. */
        public T defaultValue() {
            return defaultValue;
        }

        /** Parses {@code text} (surrounding blanks ignored) given through {@code source}. */
        public T parse(String text, Source source) {
            String name = source == Source.AGENT_OPTION ? "option " + key() : "system property " + property;
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
            return key() + "=" + form + " (" + description + ")";
        }

        @Override
        public String toString() {
            return key == null ? property : key + " (" + property + ")";
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

    /** {@code 10000}, {@code 10000:wait}, {@code 10000:wait=250ms} or {@code 10000:reject}. */
    private static FiberBound fiberBound(String text) {
        int colon = text.indexOf(':');
        Integer max = wholeNumber(1, MAX_MAX_FIBERS).apply(colon < 0 ? text : text.substring(0, colon));
        if (max == null) {
            return null;
        }
        String policy = colon < 0 ? "wait" : text.substring(colon + 1);
        if (policy.equals("wait")) {
            return new FiberBound(max, -1);
        }
        if (policy.equals("reject")) {
            return new FiberBound(max, 0);
        }
        if (policy.matches("wait=[1-9][0-9]{0,6}ms")) {
            return new FiberBound(max, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
                    Long.parseLong(policy.substring("wait=".length(), policy.length() - 2))));
        }
        throw new IllegalArgumentException("'" + policy + "' is not a policy (wait, wait=Tms or reject)");
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

    private static final java.util.regex.Pattern JAVA_NAME = java.util.regex.Pattern.compile(
            "[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");

    /**
     * {@code com.example.Worker+com.example.legacy.*+name:worker-*}: selectors of application threads,
     * each kept as written. A class selector is a binary class name, matching threads its code
     * creates; {@code pkg.*} matches the classes of {@code pkg} and its subpackages; {@code name:GLOB}
     * matches a thread's name, {@code *} standing for any text. Nothing may be empty.
     */
    private static List<String> threadSelectors(String text) {
        List<String> selectors = new ArrayList<>();
        for (String selector : text.split("\\+", -1)) {
            if (selector.isEmpty()) {
                throw new IllegalArgumentException("it has an empty selector");
            }
            if (selector.startsWith("name:")) {
                if (selector.length() == "name:".length()) {
                    throw new IllegalArgumentException("'" + selector + "' names no pattern");
                }
            } else {
                String name = selector.endsWith(".*") ? selector.substring(0, selector.length() - 2) : selector;
                if (!JAVA_NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("'" + selector + "' is neither a class, a package.* nor name:GLOB");
                }
            }
            selectors.add(selector);
        }
        return List.copyOf(selectors);
    }

    /** {@code 127.0.0.1:5353,[::1]:53,10.0.0.2}; blank entries are skipped, but one server at least. */
    private static List<InetSocketAddress> dnsServers(String text) {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (String entry : text.split(",")) {
            String e = entry.trim();
            if (!e.isEmpty()) {
                servers.add(dnsServer(e));
            }
        }
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("it lists no server");
        }
        return List.copyOf(servers);
    }

    /**
     * One entry of {@link #DNS_SERVERS}. An IPv6 address has colons of its own, so a port follows
     * it only in brackets; a bare entry with more than one colon is an IPv6 address on port 53.
     */
    private static InetSocketAddress dnsServer(String entry) {
        String host = entry;
        int port = DNS_PORT;
        if (entry.startsWith("[")) {
            int close = entry.indexOf(']');
            if (close < 0) {
                throw badServer(entry, "a '[' lacks its ']'");
            }
            host = entry.substring(1, close);
            String rest = entry.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw badServer(entry, "the text after ']' is not :PORT");
                }
                port = dnsPort(entry, rest.substring(1));
            }
        } else if (entry.indexOf(':') >= 0 && entry.indexOf(':') == entry.lastIndexOf(':')) {
            host = entry.substring(0, entry.indexOf(':'));
            port = dnsPort(entry, entry.substring(entry.indexOf(':') + 1));
        }
        InetAddress address;
        try {
            address = InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException ex) {
            throw badServer(entry, "'" + host + "' is not an IP address (a DNS server must be given by address)");
        }
        return new InetSocketAddress(address, port);
    }

    private static int dnsPort(String entry, String port) {
        Integer p = wholeNumber(1, 65535).apply(port);
        if (p == null) {
            throw badServer(entry, "port '" + port + "' is not a number from 1 to 65535");
        }
        return p;
    }

    private static IllegalArgumentException badServer(String entry, String why) {
        return new IllegalArgumentException("in server '" + entry + "', " + why);
    }

    /** {@code 8700}, {@code 127.0.0.1:8700}, {@code [::1]:8700}, {@code localhost:8700}, {@code *:8700}. */
    private static InetSocketAddress consoleAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), consolePort(text));
        }
        String host = text.substring(0, colon);
        int port = consolePort(text.substring(colon + 1));
        if (host.equals("*")) {
            return new InetSocketAddress(port); // the wildcard address
        }
        if (host.equals("localhost")) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("an IPv6 address goes in brackets before its port, such as [::1]:8700");
        }
        try {
            return new InetSocketAddress(InetAddress.ofLiteral(host), port);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + host + "' is not an IP address, localhost or *");
        }
    }

    private static int consolePort(String text) {
        Integer port = wholeNumber(0, 65535).apply(text);
        if (port == null) {
            throw new IllegalArgumentException("port '" + text + "' is not a number from 0 to 65535");
        }
        return port;
    }

    /** A token safe in a URL's query and a cookie as it is, long enough not to be guessed. */
    private static String consoleToken(String text) {
        if (text.length() < MIN_CONSOLE_TOKEN_LENGTH) {
            throw new IllegalArgumentException("it has " + text.length() + " characters");
        }
        return text.matches("[A-Za-z0-9._~-]+") ? text : null;
    }

    private static Function<String, String> oneOf(String... choices) {
        return text -> List.of(choices).contains(text) ? text : null;
    }
}
