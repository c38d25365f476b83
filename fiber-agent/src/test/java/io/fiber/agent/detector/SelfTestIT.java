package io.fiber.agent.detector;

import io.fiber.internal.bridge.FiberBridge;
import io.fiber.detector.BlockingCategory;
import org.junit.jupiter.api.Test;

import java.io.FileInputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The agent's start-up self-test fails loudly, naming the entry, for a method that is listed but
 * not patched (what a JDK update that moves a call path would cause). Its pass on the real table is
 * every agent JVM's start-up; it cannot run twice (some exercises are one-shot: a class initialiser,
 * a cached failed lookup). Reached by reflection: the self-test is internal to the agent.
 */
class SelfTestIT {
    private static final String AGENT = "io.fiber.agent.";

    private static void runSelfTest(List<?> entries) throws Throwable {
        Method run = Class.forName(AGENT + "BlockingMethodsSelfTest").getDeclaredMethod("run", List.class);
        run.setAccessible(true);
        try {
            run.invoke(null, entries);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** {@code BlockingMethods.Check.ON_ENTRY}. */
    private static Object onEntry() throws ClassNotFoundException {
        for (Object constant : Class.forName(AGENT + "BlockingMethods$Check").getEnumConstants()) {
            if (((Enum<?>) constant).name().equals("ON_ENTRY")) {
                return constant;
            }
        }
        throw new AssertionError("no BlockingMethods.Check.ON_ENTRY");
    }

    @Test
    void anEntryThatIsNotReachedStopsItNamingTheEntry() throws Throwable {
        Class<?> exercise = Class.forName(AGENT + "BlockingMethods$Exercise");
        Object availableOnDevNull = Proxy.newProxyInstance(exercise.getClassLoader(), new Class<?>[] {exercise}, (proxy, m, args) -> {
            if (m.getName().equals("run")) {
                try (FileInputStream in = new FileInputStream("/dev/null")) {
                    in.available(); // exists on the JDK, but the agent does not patch it
                }
                return null;
            }
            return m.invoke(proxy, args);
        });
        Class<?> entryType = Class.forName(AGENT + "BlockingMethods$Entry");
        Constructor<?> entry = entryType.getDeclaredConstructors()[0];
        entry.setAccessible(true);
        Object listed = entry.newInstance("java.io.FileInputStream", "available", "()I", BlockingCategory.FILE_IO,
                java.util.Set.of(BlockingCategory.FILE_IO), FiberBridge.Detector.ANY_THREAD, onEntry(), availableOnDevNull);
        Constructor<?> found = Class.forName(AGENT + "BlockingMethods$Found").getDeclaredConstructors()[0];
        found.setAccessible(true);
        Object unpatched = found.newInstance(listed, "java.io.FileInputStream#available");
        FiberBridge.Detector before = FiberBridge.detector();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> runSelfTest(List.of(unpatched)));
        assertSame(before, FiberBridge.detector(), "the probe is removed after the self-test");
        assertTrue(e.getMessage().contains("the blocking-call detector's self-test failed on JDK"), e.getMessage());
        assertTrue(e.getMessage().contains("java.io.FileInputStream#available (its exercise completed without reaching it)"), e.getMessage());
    }
}
