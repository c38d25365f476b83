package io.fiber.agent;

import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

import java.lang.instrument.Instrumentation;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static net.bytebuddy.matcher.ElementMatchers.hasDescriptor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.none;

/**
 * The one table of JDK methods the agent patches, and the code that patches them.
 *
 * <p>Before patching, every entry is looked up on the running JDK by name and descriptor; a
 * missing one stops the agent with a message naming it (a JDK update that renames an internal
 * must fail loudly, not leave fibers silently on the JDK's pollers). After patching, every class
 * must have been transformed, or the agent stops too.
 */
final class JdkPatches {
    /** One patched method: owner class, name, JVM descriptor, and the advice inlined into it. */
    record Patch(String owner, String method, String descriptor, Class<?> advice) {
        @Override
        public String toString() {
            return owner + "." + method + descriptor;
        }
    }

    static final List<Patch> TABLE = List.of(
            new Patch("sun.nio.ch.Poller", "poll", "(IIJLjava/util/function/BooleanSupplier;)V", PollerAdvice.Poll.class),
            new Patch("sun.nio.ch.Poller", "pollSelector", "(IJ)V", PollerAdvice.PollSelector.class),
            new Patch("sun.nio.ch.Poller", "stopPoll", "(II)V", PollerAdvice.StopPoll.class),
            new Patch("java.lang.VirtualThread", "schedule",
                    "(Ljava/lang/Runnable;JLjava/util/concurrent/TimeUnit;)Ljava/util/concurrent/Future;",
                    VirtualThreadAdvice.Schedule.class));

    private JdkPatches() { }

    /** Checks every entry exists on this JDK, then patches them all; throws naming what went wrong. */
    static void install(Instrumentation inst) {
        Map<String, List<Patch>> byOwner = new LinkedHashMap<>();
        for (Patch patch : TABLE) {
            checkExists(patch);
            byOwner.computeIfAbsent(patch.owner(), k -> new ArrayList<>()).add(patch);
        }
        Set<String> transformed = ConcurrentHashMap.newKeySet();
        List<String> errors = new ArrayList<>();
        AgentBuilder builder = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .ignore(none())
                .with(new AgentBuilder.Listener.Adapter() {
                    @Override
                    public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module,
                                                 boolean loaded, DynamicType dynamicType) {
                        transformed.add(type.getName());
                    }

                    @Override
                    public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable error) {
                        synchronized (errors) {
                            errors.add(typeName + ": " + error);
                        }
                    }
                });
        for (Map.Entry<String, List<Patch>> owner : byOwner.entrySet()) {
            builder = builder.type(named(owner.getKey())).transform(
                    (DynamicType.Builder<?> b, TypeDescription type, ClassLoader loader, JavaModule module, ProtectionDomain pd) -> {
                        DynamicType.Builder<?> patched = b;
                        for (Patch patch : owner.getValue()) {
                            patched = patched.visit(Advice.to(patch.advice())
                                    .on(named(patch.method()).and(hasDescriptor(patch.descriptor()))));
                        }
                        return patched;
                    });
        }
        builder.installOn(inst);
        for (String owner : byOwner.keySet()) { // all loaded by checkExists, so patched by now
            if (!transformed.contains(owner)) {
                throw new IllegalStateException("could not patch " + owner + " on JDK " + Runtime.version()
                        + (errors.isEmpty() ? "" : ": " + errors));
            }
        }
    }

    private static void checkExists(Patch patch) {
        Class<?> owner = loadWithoutInitializing(patch.owner());
        for (Method m : owner.getDeclaredMethods()) {
            if (m.getName().equals(patch.method())
                    && MethodType.methodType(m.getReturnType(), m.getParameterTypes()).toMethodDescriptorString().equals(patch.descriptor())) {
                return;
            }
        }
        throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no " + patch
                + ", which the agent patches; this agent supports JDK 25");
    }

    private static Class<?> loadWithoutInitializing(String name) {
        try {
            return Class.forName(name, false, null);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no class " + name
                    + ", which the agent patches; this agent supports JDK 25", e);
        }
    }
}
