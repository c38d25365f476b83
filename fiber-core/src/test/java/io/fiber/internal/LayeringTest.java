package io.fiber.internal;

import io.fiber.Fiber;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The layering of fiber-core, checked on the compiled classes (every class a class file names is in
 * its constant pool, imports or not): {@code io.fiber} holds public types only, no internal package
 * refers to the API above it, and the internal packages depend on each other only downwards, as
 * {@code io/fiber/internal/package-info.java} draws them.
 */
class LayeringTest {
    /** Each internal package and the internal packages it may use; "" is {@code io.fiber.internal} itself. */
    private static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("", Set.of()),
            Map.entry("bridge", Set.of()),
            Map.entry("jdk", Set.of("")),
            Map.entry("time", Set.of("", "jdk")),
            Map.entry("offload", Set.of("")),
            Map.entry("io", Set.of("", "bridge")),
            Map.entry("group", Set.of()),
            Map.entry("management", Set.of("", "time")),
            Map.entry("carrier", Set.of("", "jdk", "time", "offload", "io", "group")),
            Map.entry("dns", Set.of("", "carrier", "offload")),
            Map.entry("dump", Set.of("", "carrier", "group", "jdk", "io", "time")),
            Map.entry("console", Set.of()),
            Map.entry("agent", Set.of("", "bridge", "carrier", "io", "jdk", "time")));

    private static final Pattern REFERENCE = Pattern.compile("io/fiber/([A-Za-z0-9_/$]+)");

    @Test
    void theApiPackageHoldsPublicTypesOnly() throws Exception {
        List<String> hidden = new ArrayList<>();
        try (Stream<Path> files = Files.list(classes().resolve("io/fiber"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = file.getFileName().toString();
                if (name.contains("$") || name.equals("package-info.class")) {
                    continue;
                }
                Class<?> type = Class.forName("io.fiber." + name.substring(0, name.length() - ".class".length()));
                if (!Modifier.isPublic(type.getModifiers())) {
                    hidden.add(type.getName());
                }
            }
        }
        assertEquals(List.of(), hidden, "classes in io.fiber that users cannot use belong in an internal package");
    }

    @Test
    void internalPackagesReferOnlyDownwards() throws Exception {
        Path root = classes().resolve("io/fiber/internal");
        Set<String> violations = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String from = packageOf(root.relativize(file.getParent()).toString());
                String text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
                Matcher m = REFERENCE.matcher(text);
                while (m.find()) {
                    String target = m.group(1);
                    String owner = root.relativize(file).toString();
                    if (!target.startsWith("internal/")) {
                        violations.add(owner + " refers to the API: io/fiber/" + target);
                        continue;
                    }
                    String rest = target.substring("internal/".length());
                    String to = rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : "";
                    if (!to.equals(from) && !ALLOWED.get(from).contains(to)) {
                        violations.add(owner + " (" + label(from) + ") refers up to " + label(to) + ": io/fiber/" + target);
                    }
                }
            }
        }
        assertEquals(Set.of(), violations);
    }

    /** The first folder below io/fiber/internal, or "" for the package itself. */
    private static String packageOf(String relative) {
        String p = relative.replace('\\', '/');
        int slash = p.indexOf('/');
        String first = slash < 0 ? p : p.substring(0, slash);
        if (!ALLOWED.containsKey(first)) {
            throw new AssertionError("io.fiber.internal." + first + " is not in LayeringTest.ALLOWED: add it with the packages it may use");
        }
        return first;
    }

    private static String label(String pkg) {
        return pkg.isEmpty() ? "io.fiber.internal" : "io.fiber.internal." + pkg;
    }

    private static Path classes() throws URISyntaxException, IOException {
        return Path.of(Fiber.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
