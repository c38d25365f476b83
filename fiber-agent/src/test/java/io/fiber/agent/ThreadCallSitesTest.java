package io.fiber.agent;

import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link ThreadCallSites}: which {@code new Thread(...)} sites it rewrites and which it leaves alone,
 * and that what it writes verifies and runs. Without the agent's policy in the bridge, the bridge's
 * {@code newThread} calls the constructor, so a rewritten class behaves as before.
 */
class ThreadCallSitesTest {
    /** Compiled by javac, as application code is. */
    @SuppressWarnings("unused")
    public static final class Sites {
        public static Thread plain(Runnable r) {
            return new Thread(r);
        }

        public static Thread everyConstructor(Runnable r) {
            ThreadGroup g = Thread.currentThread().getThreadGroup();
            new Thread();
            new Thread(r);
            new Thread(g, r);
            new Thread("a");
            new Thread(g, "b");
            new Thread(r, "c");
            new Thread(g, r, "d");
            new Thread(g, r, "e", 0);
            return new Thread(g, r, "f", 0, false);
        }

        public static Thread nested(Runnable r) {
            return new Thread(new Thread(r)::run, String.valueOf(new StringBuilder("n")));
        }

        public static Thread branchInArguments(Runnable r, boolean b) {
            return new Thread(r, b ? "yes" : "no");
        }

        public static java.util.concurrent.ThreadFactory reference() {
            return Thread::new;
        }

        public static boolean daemonFlag(Thread t) {
            t.setDaemon(true);
            return t.isDaemon();
        }
    }

    /** A Thread subclass: its {@code super(...)} must stay as it is. */
    public static final class Sub extends Thread {
        public Sub(Runnable r) {
            super(r, "sub");
        }
    }

    /** A factory of a Thread subclass, compiled as Tomcat's TaskThreadFactory is: construct, set up, return. */
    public static final class SubFactory implements java.util.concurrent.ThreadFactory {
        @Override
        public Thread newThread(Runnable r) {
            Sub t = new Sub(r);
            t.setDaemon(true);
            t.setContextClassLoader(getClass().getClassLoader());
            return t;
        }
    }

    private static byte[] bytesOf(Class<?> c) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getSimpleName().isEmpty() ? null : c.getName().substring(c.getName().lastIndexOf('.') + 1) + ".class")) {
            return in.readAllBytes();
        }
    }

    /** What each method of a class calls, after the rewrite: "NEW java/lang/Thread", "INVOKESTATIC FiberBridge.newThread ...". */
    private static List<String> calls(byte[] bytes, String method) {
        List<String> calls = new ArrayList<>();
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                if (!name.equals(method)) {
                    return null;
                }
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitTypeInsn(int opcode, String type) {
                        if (opcode == Opcodes.NEW) {
                            calls.add("NEW " + type);
                        }
                    }

                    @Override
                    public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
                        if (owner.equals("java/lang/Thread") || owner.endsWith("FiberBridge")) {
                            calls.add(owner.substring(owner.lastIndexOf('/') + 1) + "." + name + descriptor);
                        }
                    }
                };
            }
        }, 0);
        return calls;
    }

    private static Class<?> define(String name, byte[] bytes) {
        return new ClassLoader(ThreadCallSitesTest.class.getClassLoader()) {
            Class<?> defineIt() {
                return defineClass(name, bytes, 0, bytes.length);
            }
        }.defineIt();
    }

    @Test
    void javacsNewThreadBecomesTheBridgesFactoryForEveryPublicConstructor() throws Exception {
        byte[] rewritten = ThreadCallSites.rewrite(bytesOf(Sites.class));
        assertNotNull(rewritten);
        assertEquals(List.of("FiberBridge.newThread(Ljava/lang/Runnable;Ljava/lang/String;)Ljava/lang/Thread;"), calls(rewritten, "plain"));
        List<String> every = calls(rewritten, "everyConstructor");
        assertEquals(ThreadCallSites.CONSTRUCTORS.size(), every.stream().filter(c -> c.startsWith("FiberBridge.newThread(")).count(), every.toString());
        assertFalse(every.contains("NEW java/lang/Thread"), every.toString());
        for (String constructor : ThreadCallSites.CONSTRUCTORS) {
            String args = constructor.substring(0, constructor.indexOf(')'));
            assertTrue(every.contains("FiberBridge.newThread" + args + "Ljava/lang/String;)Ljava/lang/Thread;"), constructor + " in " + every);
        }
        assertEquals(List.of("FiberBridge.newThread(Ljava/lang/Runnable;Ljava/lang/String;)Ljava/lang/Thread;", "NEW java/lang/StringBuilder",
                        "FiberBridge.newThread(Ljava/lang/Runnable;Ljava/lang/String;Ljava/lang/String;)Ljava/lang/Thread;"),
                calls(rewritten, "nested").stream().filter(c -> c.startsWith("NEW") || c.startsWith("FiberBridge")).toList(),
                "a new Thread inside another's arguments is rewritten too");
        assertEquals(List.of("FiberBridge.setDaemon(Ljava/lang/Thread;Z)V", "FiberBridge.isDaemon(Ljava/lang/Thread;)Z"),
                calls(rewritten, "daemonFlag"));
    }

    @Test
    void aConstructorReferenceBecomesTheBridgesFactoryAndStillMakesThreads() throws Exception {
        byte[] rewritten = ThreadCallSites.rewrite(bytesOf(Sites.class));
        List<String> handles = new ArrayList<>();
        new ClassReader(rewritten).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                return !name.equals("reference") ? null : new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitInvokeDynamicInsn(String n, String d, org.objectweb.asm.Handle bsm, Object... args) {
                        for (Object a : args) {
                            if (a instanceof org.objectweb.asm.Handle h) {
                                handles.add(h.getOwner().substring(h.getOwner().lastIndexOf('/') + 1) + "." + h.getName() + h.getDesc());
                            }
                        }
                    }
                };
            }
        }, 0);
        assertEquals(List.of("FiberBridge.newThreadByReference(Ljava/lang/Runnable;)Ljava/lang/Thread;"), handles);
        java.util.concurrent.ThreadFactory factory = (java.util.concurrent.ThreadFactory) define(Sites.class.getName(), rewritten)
                .getMethod("reference").invoke(null);
        AtomicBoolean ran = new AtomicBoolean();
        Thread t = factory.newThread(() -> ran.set(true));
        t.start();
        t.join();
        assertTrue(ran.get());
    }

    @Test
    void aBranchBetweenNewAndItsConstructorLeavesThatSiteAlone() throws Exception {
        byte[] rewritten = ThreadCallSites.rewrite(bytesOf(Sites.class));
        assertEquals(List.of("NEW java/lang/Thread", "Thread.<init>(Ljava/lang/Runnable;Ljava/lang/String;)V"),
                calls(rewritten, "branchInArguments"));
    }

    @Test
    void theRewrittenClassVerifiesAndItsThreadsRunAsBefore() throws Exception {
        byte[] rewritten = ThreadCallSites.rewrite(bytesOf(Sites.class));
        Class<?> sites = define(Sites.class.getName(), rewritten);
        AtomicBoolean ran = new AtomicBoolean();
        for (String name : List.of("plain", "nested")) {
            ran.set(false);
            Thread t = (Thread) sites.getMethod(name, Runnable.class).invoke(null, (Runnable) () -> ran.set(true));
            t.start();
            t.join();
            assertTrue(ran.get(), name);
        }
        Thread every = (Thread) sites.getMethod("everyConstructor", Runnable.class).invoke(null, (Runnable) () -> { });
        assertEquals("f", every.getName());
        Method branch = sites.getMethod("branchInArguments", Runnable.class, boolean.class);
        assertEquals("yes", ((Thread) branch.invoke(null, (Runnable) () -> { }, true)).getName());
        assertTrue((boolean) sites.getMethod("daemonFlag", Thread.class).invoke(null, new Thread(() -> { })));
    }

    @Test
    void aKnownSubclassFactoryHandsItsThreadToTheBridgeBeforeReturningIt() throws Exception {
        assertTrue(ThreadCallSites.SUBCLASS_FACTORIES.containsKey("org/apache/tomcat/util/threads/TaskThreadFactory"));
        String method = "newThread(Ljava/lang/Runnable;)Ljava/lang/Thread;";
        byte[] rewritten = ThreadCallSites.rewriteFactory(new ClassReader(bytesOf(SubFactory.class)), method);
        assertNotNull(rewritten);
        assertEquals(List.of("NEW " + Sub.class.getName().replace('.', '/'),
                        "FiberBridge.atNewPlatformThread(Ljava/lang/Thread;Ljava/lang/Object;Ljava/lang/Runnable;)Ljava/lang/Thread;"),
                calls(rewritten, "newThread").stream().filter(c -> c.startsWith("NEW") || c.startsWith("FiberBridge")).toList());
        // Without the agent's policy the bridge returns the thread it was given: the factory works as before.
        java.util.concurrent.ThreadFactory factory = (java.util.concurrent.ThreadFactory) define(SubFactory.class.getName(), rewritten)
                .getConstructor().newInstance();
        AtomicBoolean ran = new AtomicBoolean();
        Thread t = factory.newThread(() -> ran.set(true));
        assertEquals("sub", t.getName());
        assertTrue(t.isDaemon());
        t.start();
        t.join();
        assertTrue(ran.get());
        assertNull(ThreadCallSites.rewriteFactory(new ClassReader(bytesOf(Sites.class)), method), "a class without that method is left alone");
    }

    @Test
    void aSubclassSuperCallIsLeftAlone() throws Exception {
        assertNull(ThreadCallSites.rewrite(bytesOf(Sub.class)), "nothing to rewrite in a subclass's constructor");
    }

    @Test
    void aNewNotFollowedByDupIsLeftAlone() throws Exception {
        // NEW; ASTORE; ALOAD; ...; INVOKESPECIAL <init>: valid bytecode that javac does not write.
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS | ClassWriter.COMPUTE_FRAMES);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC, "Odd", null, "java/lang/Object", null);
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_STATIC, "make", "(Ljava/lang/Runnable;)Ljava/lang/Thread;", null, null);
        mv.visitCode();
        mv.visitTypeInsn(Opcodes.NEW, "java/lang/Thread");
        mv.visitVarInsn(Opcodes.ASTORE, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitMethodInsn(Opcodes.INVOKESPECIAL, "java/lang/Thread", "<init>", "(Ljava/lang/Runnable;)V", false);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitInsn(Opcodes.ARETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        assertNull(ThreadCallSites.rewrite(cw.toByteArray()));
    }
}
