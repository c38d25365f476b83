package io.fiber.internal.console;

/**
 * A small JSON writer for the console's endpoints: objects, arrays, names and values, commas placed
 * by itself. No JSON library, so fiber-core keeps depending on the JDK and SLF4J alone.
 *
 * <p>Every string is escaped for JSON and also for HTML ({@code < > &} and the JavaScript line
 * separators become {@code \\uXXXX}): thread names, group names and stacks are the program's data,
 * and a response must stay inert even if something shows it as HTML by mistake.
 */
public final class Json {
    private final StringBuilder out = new StringBuilder(4096);
    /** Whether the container being written already holds a value, so the next one needs a comma. */
    private boolean needsComma;
    /** Whether a name was just written, so the value follows it without a comma. */
    private boolean afterName;

    public Json beginObject() {
        beforeValue();
        out.append('{');
        needsComma = false;
        return this;
    }

    public Json endObject() {
        out.append('}');
        needsComma = true;
        return this;
    }

    public Json beginArray() {
        beforeValue();
        out.append('[');
        needsComma = false;
        return this;
    }

    public Json endArray() {
        out.append(']');
        needsComma = true;
        return this;
    }

    /** The name of the next value in the object being written. */
    public Json name(String name) {
        beforeValue();
        string(name);
        out.append(':');
        afterName = true;
        return this;
    }

    public Json value(String value) {
        beforeValue();
        if (value == null) {
            out.append("null");
        } else {
            string(value);
        }
        needsComma = true;
        return this;
    }

    public Json value(long value) {
        beforeValue();
        out.append(value);
        needsComma = true;
        return this;
    }

    public Json value(double value) {
        beforeValue();
        if (Double.isFinite(value)) {
            out.append(value);
        } else {
            out.append("null");
        }
        needsComma = true;
        return this;
    }

    public Json value(boolean value) {
        beforeValue();
        out.append(value);
        needsComma = true;
        return this;
    }

    /** {@code "name": value}, for the common case. */
    public Json field(String name, String value) {
        return name(name).value(value);
    }

    public Json field(String name, long value) {
        return name(name).value(value);
    }

    public Json field(String name, double value) {
        return name(name).value(value);
    }

    public Json field(String name, boolean value) {
        return name(name).value(value);
    }

    private void beforeValue() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (needsComma) {
            out.append(',');
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029'
                            || Character.isSurrogate(c) && !wellFormedPairAt(s, i)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Whether the surrogate at {@code i} is half of a pair, written as it is; a lone one (a thread
     * name can hold any chars) is escaped, since UTF-8 cannot encode it and would turn it into '?'.
     */
    private static boolean wellFormedPairAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
