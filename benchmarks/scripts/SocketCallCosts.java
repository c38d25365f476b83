import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Socket;

import java.io.FileDescriptor;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What one server-side read and write of a 64-byte echo cost, by the layer that makes them, in one
 * thread on one loopback connection (benchmarks/scripts/socket-call-costs.sh runs it). A round trip:
 * the client sends 64 bytes, the server reads them and writes them back, the client reads them. The
 * client's calls are the same in every variant (critical downcalls to send and recv); the server's are:
 * <ol>
 *   <li>{@code jdk}: a {@code java.net.Socket}'s streams, what a fiber's read and write were before
 *       fiber-io's SocketCalls: NioSocketImpl's lock and state, a temporary direct buffer from the
 *       carrier's cache, JNI read0/write0, then read(2) and write(2);</li>
 *   <li>{@code recv/send}: critical downcalls (no thread-state transition) to recv(2) and send(2) on
 *       the heap array, what a fiber's read and write are now;</li>
 *   <li>{@code read/send}: the same with read(2), which goes through the kernel's file layer: recv's
 *       saving in the kernel alone;</li>
 *   <li>{@code netty}: Netty's JNI recv and send on a direct buffer, as its epoll transport reads and
 *       writes (no copy, the buffer is the message).</li>
 * </ol>
 * The figure is the thread's CPU time per round trip (so time the shared machine takes the core away
 * does not count), the median of ROUNDS rounds of N round trips, the variants alternated in each round.
 * usage: SocketCallCosts [ROUNDS] [N]
 */
public class SocketCallCosts {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor CALL = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
    /** The calls' errno: one thread, as a carrier thread's own array in the runtime. */
    private static final int[] ERRNO = new int[1];
    private static final MethodHandle RECV = critical("recv", CALL);
    private static final MethodHandle SEND = critical("send", CALL);
    private static final MethodHandle READ = critical("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private static MethodHandle critical(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor,
                Linker.Option.critical(true), Linker.Option.captureCallState("errno"));
    }

    private static long recv(int fd, byte[] b, int len) throws Throwable {
        return (long) RECV.invokeExact(MemorySegment.ofArray(ERRNO), fd, MemorySegment.ofArray(b), (long) len, 0);
    }

    private static long send(int fd, byte[] b, int len) throws Throwable {
        return (long) SEND.invokeExact(MemorySegment.ofArray(ERRNO), fd, MemorySegment.ofArray(b), (long) len, 0);
    }

    private static long read(int fd, byte[] b, int len) throws Throwable {
        return (long) READ.invokeExact(MemorySegment.ofArray(ERRNO), fd, MemorySegment.ofArray(b), (long) len);
    }

    public static void main(String[] args) throws Throwable {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 50_000;
        Epoll.ensureAvailability();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             java.net.Socket client = new java.net.Socket(listener.getInetAddress(), listener.getLocalPort());
             java.net.Socket server = listener.accept()) {
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            int clientFd = fdOf(client);
            int serverFd = fdOf(server);
            InputStream in = server.getInputStream();
            OutputStream out = server.getOutputStream();
            Socket netty = new Socket(serverFd);
            ByteBuffer direct = ByteBuffer.allocateDirect(1024);
            long address = MemorySegment.ofBuffer(direct).address();
            byte[] message = new byte[64];
            byte[] buffer = new byte[1024];
            byte[] echo = new byte[1024];
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            String[] names = {"jdk Socket streams", "recv/send, critical downcalls", "read/send, critical downcalls", "netty JNI recv/send"};
            double[][] nanos = new double[names.length][rounds];
            for (int round = 0; round < rounds; round++) {
                for (int variant = 0; variant < names.length; variant++) {
                    long start = threads.getCurrentThreadCpuTime();
                    for (int i = 0; i < n; i++) {
                        send(clientFd, message, 64);
                        switch (variant) {
                            case 0 -> out.write(buffer, 0, in.read(buffer, 0, 1024));
                            case 1 -> send(serverFd, buffer, (int) recv(serverFd, buffer, 1024));
                            case 2 -> send(serverFd, buffer, (int) read(serverFd, buffer, 1024));
                            default -> netty.sendAddress(address, 0, netty.recvAddress(address, 0, 1024));
                        }
                        for (int got = 0; got < 64; ) {
                            got += (int) recv(clientFd, echo, 1024);
                        }
                    }
                    nanos[variant][round] = (threads.getCurrentThreadCpuTime() - start) / (double) n;
                }
            }
            System.out.printf("thread CPU ns per round trip (client send + server read and write + client recv), median of %d rounds of %,d:%n",
                    rounds, n);
            for (int variant = 0; variant < names.length; variant++) {
                double[] sorted = nanos[variant].clone();
                Arrays.sort(sorted);
                System.out.printf("  %-32s %6.0f  (rounds: %.0f to %.0f)%n", names[variant], sorted[rounds / 2], sorted[0], sorted[rounds - 1]);
            }
        }
    }

    /** The socket's fd number, by reflection (the script opens java.net, sun.nio.ch and java.io). */
    private static int fdOf(java.net.Socket socket) throws ReflectiveOperationException {
        Object impl = field(java.net.Socket.class, "impl").get(socket);
        for (Class<?> c = impl.getClass(); c != null; c = c.getSuperclass()) {
            if (c.getName().endsWith("DelegatingSocketImpl")) {
                impl = field(c, "delegate").get(impl);
                break;
            }
        }
        for (Class<?> c = impl.getClass(); c != null; c = c.getSuperclass()) {
            try {
                FileDescriptor fd = (FileDescriptor) field(c, "fd").get(impl);
                return field(FileDescriptor.class, "fd").getInt(fd);
            } catch (NoSuchFieldException e) {
                // the field is declared higher up
            }
        }
        throw new NoSuchFieldException("fd");
    }

    private static java.lang.reflect.Field field(Class<?> c, String name) throws NoSuchFieldException {
        java.lang.reflect.Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
