package io.fiber.agent;

import io.fiber.detector.BlockingCategory;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The agent's options: {@code -javaagent:fiber-agent.jar=key=value,key=value}. Parsing is strict:
 * an unknown key, a repeated key or a bad value is an error that names the option and the valid
 * choices, so a typo stops the JVM at start-up instead of being silently ignored.
 *
 * <p>Options (the README keeps the same table):
 * <ul>
 *   <li>{@code carriers=N}: carrier loops of the default scheduler (the one {@code Fibers.spawn}
 *       uses from non-fiber threads), 1 to 4096; default: available processors.</li>
 *   <li>{@code detector=fail|report|off}: the blocking-call detector's starting mode; default report.</li>
 *   <li>{@code handoff=Nms|off}: how long one fiber may hold a carrier's thread before a new thread
 *       takes over that carrier's other work, for every scheduler; default 10ms.</li>
 *   <li>{@code offload=none|file+dns+process} (any of the three, joined by {@code +}): call families
 *       whose blocking JDK methods move the calling fiber to the offload pool for the call; default
 *       none (handoff covers them).</li>
 *   <li>{@code dns=offload|nonblocking|off}: how fibers' name lookups run (the system property
 *       {@code fiber.dns}); default offload.</li>
 * </ul>
 */
final class AgentOptions {
    static final String USAGE = "valid options: carriers=N (carrier loops of the default scheduler, 1 to 4096),"
            + " detector=fail|report|off (what a blocking call in a fiber leads to; default report),"
            + " handoff=Nms|off (how long a fiber may hold its carrier before the carrier's other work moves to a new thread; default 10ms),"
            + " offload=none|file+dns+process (call families run on the offload pool instead of the carrier; default none),"
            + " dns=offload|nonblocking|off (how fibers' name lookups run; default offload)";
    static final Map<String, BlockingCategory> OFFLOAD_FAMILIES = Map.of(
            "file", BlockingCategory.FILE_IO, "dns", BlockingCategory.DNS, "process", BlockingCategory.PROCESS);
    private static final Set<String> DETECTOR_MODES = Set.of("fail", "report", "off");
    private static final Set<String> DNS_MODES = Set.of("offload", "nonblocking", "off");
    static final int MAX_CARRIERS = 4096;

    /** Carrier count for the default scheduler, or 0 for the runtime's default. */
    final int carriers;
    /** The detector's starting mode ({@code fail}, {@code report} or {@code off}), or null for its default. */
    final String detector;
    /** The handoff threshold ({@code Nms} or {@code off}), or null for the runtime's default. */
    final String handoff;
    /** The option's text ({@code file+dns}), or null when not given. */
    final String offload;
    /** The families {@link #offload} names; empty for none. */
    final Set<BlockingCategory> offloaded;
    /** How fibers' name lookups run ({@code offload}, {@code nonblocking} or {@code off}), or null for the default. */
    final String dns;

    private AgentOptions(int carriers, String detector, String handoff, String offload, String dns) {
        this.carriers = carriers;
        this.detector = detector;
        this.handoff = handoff;
        this.offload = offload;
        this.offloaded = offload == null ? Set.of() : parseOffload(offload);
        this.dns = dns;
    }

    static AgentOptions parse(String args) {
        Map<String, String> values = new LinkedHashMap<>();
        if (args != null && !args.isBlank()) {
            for (String pair : args.split(",")) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("option '" + pair + "' is not key=value; " + USAGE);
                }
                String key = pair.substring(0, eq).trim();
                String value = pair.substring(eq + 1).trim();
                if (values.put(key, value) != null) {
                    throw new IllegalArgumentException("option '" + key + "' is given twice; " + USAGE);
                }
            }
        }
        int carriers = 0;
        String detector = null;
        String handoff = null;
        String offload = null;
        String dns = null;
        for (Map.Entry<String, String> e : values.entrySet()) {
            switch (e.getKey()) {
                case "carriers" -> carriers = parseCarriers(e.getValue());
                case "detector" -> detector = parseDetector(e.getValue());
                case "handoff" -> handoff = parseHandoff(e.getValue());
                case "offload" -> {
                    offload = e.getValue();
                    parseOffload(offload);
                }
                case "dns" -> dns = parseDns(e.getValue());
                default -> throw new IllegalArgumentException("unknown option '" + e.getKey() + "'; " + USAGE);
            }
        }
        return new AgentOptions(carriers, detector, handoff, offload, dns);
    }

    private static String parseDetector(String value) {
        if (!DETECTOR_MODES.contains(value)) {
            throw new IllegalArgumentException("option detector=" + value + " is invalid: it must be fail, report or off");
        }
        return value;
    }

    private static Set<BlockingCategory> parseOffload(String value) {
        if (value.equals("none")) {
            return Set.of();
        }
        Set<BlockingCategory> families = EnumSet.noneOf(BlockingCategory.class);
        for (String family : value.split("\\+", -1)) {
            BlockingCategory category = OFFLOAD_FAMILIES.get(family);
            if (category == null) {
                throw new IllegalArgumentException("option offload=" + value + " is invalid: '" + family
                        + "' is not a call family; use none, or some of file, dns and process joined by +, such as offload=file+dns");
            }
            families.add(category);
        }
        return families;
    }

    /** The runtime reads the same form ({@code FiberScheduler}); checked here so a typo stops the JVM at start-up. */
    private static String parseHandoff(String value) {
        if (!value.matches("off|[1-9][0-9]{0,6}ms")) {
            throw new IllegalArgumentException("option handoff=" + value + " is invalid: it must be off or a whole number"
                    + " of milliseconds from 1 to 9999999 followed by ms, such as handoff=10ms");
        }
        return value;
    }

    private static String parseDns(String value) {
        if (!DNS_MODES.contains(value)) {
            throw new IllegalArgumentException("option dns=" + value + " is invalid: it must be offload, nonblocking or off");
        }
        return value;
    }

    private static int parseCarriers(String value) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > MAX_CARRIERS) {
            throw new IllegalArgumentException("option carriers=" + value + " is invalid: it must be a whole number from 1 to " + MAX_CARRIERS);
        }
        return n;
    }
}
