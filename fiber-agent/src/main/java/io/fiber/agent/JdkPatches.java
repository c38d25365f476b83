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
 * The table of JDK methods the agent patches to reroute fibers' waits, and the code that patches
 * them and the detector's {@link BlockingMethods}.
 *
 * <p>Before patching, every entry is looked up on the running JDK by name and descriptor; a
 * missing one stops the agent with a message naming it (a JDK update that renames an internal
 * must fail loudly, not leave fibers silently on the JDK's pollers). After patching, every class
 * must have been transformed, or the agent stops too.
 */
final class JdkPatches {
    /** One patched method: owner class, name, JVM descriptor, and the advice inlined into it. */
    record Patch(String owner, String method, String descriptor, Advice advice) {
        @Override
        public String toString() {
            return owner + "." + method + descriptor;
        }
    }

    static final List<Patch> REROUTES = List.of(
            new Patch("sun.nio.ch.Poller", "poll", "(IIJLjava/util/function/BooleanSupplier;)V", Advice.to(PollerAdvice.Poll.class)),
            new Patch("sun.nio.ch.Poller", "pollSelector", "(IJ)V", Advice.to(PollerAdvice.PollSelector.class)),
            new Patch("sun.nio.ch.Poller", "stopPoll", "(II)V", Advice.to(PollerAdvice.StopPoll.class)),
            new Patch("sun.nio.ch.UnixDispatcher", "close", "(Ljava/io/FileDescriptor;)V", Advice.to(PollerAdvice.FdClosing.class)),
            new Patch("sun.nio.ch.UnixDispatcher", "implPreClose", "(Ljava/io/FileDescriptor;JJ)V", Advice.to(PollerAdvice.FdClosing.class)),
            new Patch("sun.nio.ch.NioSocketImpl", "tryRead", "(Ljava/io/FileDescriptor;[BII)I", Advice.to(PollerAdvice.SocketRead.class)),
            new Patch("java.lang.VirtualThread", "schedule",
                    "(Ljava/lang/Runnable;JLjava/util/concurrent/TimeUnit;)Ljava/util/concurrent/Future;",
                    Advice.to(VirtualThreadAdvice.Schedule.class)));

    private JdkPatches() { }

    /**
     * Checks the {@link #REROUTES} exist on this JDK, then patches them and {@code checked} (patches
     * their caller already found on this JDK) in one pass, so a class listed by both is transformed
     * once; throws naming what went wrong.
     */
    static void install(Instrumentation inst, List<Patch> checked) {
        List<Patch> all = new ArrayList<>();
        for (Patch patch : REROUTES) {
            find(patch.owner(), patch.method(), patch.descriptor());
            all.add(patch);
        }
        all.addAll(checked);
        apply(inst, all);
    }

    /**
     * Patches loaded classes (retransformed now) and classes loaded later (at definition); throws
     * naming the classes that could not be patched. Each class is transformed once, with all its
     * patches.
     */
    static void apply(Instrumentation inst, List<Patch> patches) {
        Map<String, List<Patch>> byOwner = new LinkedHashMap<>();
        for (Patch patch : patches) {
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
                            patched = patched.visit(patch.advice()
                                    .on(named(patch.method()).and(hasDescriptor(patch.descriptor()))));
                        }
                        return patched;
                    });
        }
        builder.installOn(inst);
        for (String owner : byOwner.keySet()) { // all loaded by the callers' checks, so patched by now
            if (!transformed.contains(owner)) {
                throw new IllegalStateException("could not patch " + owner + " on JDK " + Runtime.version()
                        + (errors.isEmpty() ? "" : ": " + errors));
            }
        }
    }

    /** The JDK method {@code owner.name} with that descriptor; throws naming it when this JDK lacks it. */
    static Method find(String ownerName, String name, String descriptor) {
        Method m = declared(loadWithoutInitializing(ownerName), name, descriptor);
        if (m != null) {
            return m;
        }
        throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no " + ownerName + "." + name + descriptor
                + ", which the agent patches; this agent supports JDK 25");
    }

    /** The method {@code owner} declares with that name and JVM descriptor, or null. */
    static Method declared(Class<?> owner, String name, String descriptor) {
        for (Method m : owner.getDeclaredMethods()) {
            if (m.getName().equals(name)
                    && MethodType.methodType(m.getReturnType(), m.getParameterTypes()).toMethodDescriptorString().equals(descriptor)) {
                return m;
            }
        }
        return null;
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
