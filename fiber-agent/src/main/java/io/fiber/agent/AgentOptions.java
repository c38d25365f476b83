package io.fiber.agent;

import java.util.LinkedHashMap;
import java.util.Map;

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
 *   <li>{@code dns=offload|nonblocking|off}: how fibers' name lookups run (the system property
 *       {@code fiber.dns}); default offload.</li>
 * </ul>
 */
final class AgentOptions {
    static final String USAGE = "valid options: carriers=N (carrier loops of the default scheduler, 1 to 4096),"
            + " detector=fail|report|off (what a blocking call in a fiber leads to; default report),"
            + " dns=offload|nonblocking|off (how fibers' name lookups run; default offload)";
    private static final java.util.Set<String> DETECTOR_MODES = java.util.Set.of("fail", "report", "off");
    private static final java.util.Set<String> DNS_MODES = java.util.Set.of("offload", "nonblocking", "off");
    static final int MAX_CARRIERS = 4096;

    /** Carrier count for the default scheduler, or 0 for the runtime's default. */
    final int carriers;
    /** The detector's starting mode ({@code fail}, {@code report} or {@code off}), or null for its default. */
    final String detector;
    /** How fibers' name lookups run ({@code offload}, {@code nonblocking} or {@code off}), or null for the default. */
    final String dns;

    private AgentOptions(int carriers, String detector, String dns) {
        this.carriers = carriers;
        this.detector = detector;
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
        String dns = null;
        for (Map.Entry<String, String> e : values.entrySet()) {
            switch (e.getKey()) {
                case "carriers" -> carriers = parseCarriers(e.getValue());
                case "detector" -> detector = parseDetector(e.getValue());
                case "dns" -> dns = parseDns(e.getValue());
                default -> throw new IllegalArgumentException("unknown option '" + e.getKey() + "'; " + USAGE);
            }
        }
        return new AgentOptions(carriers, detector, dns);
    }

    private static String parseDetector(String value) {
        if (!DETECTOR_MODES.contains(value)) {
            throw new IllegalArgumentException("option detector=" + value + " is invalid: it must be fail, report or off");
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
