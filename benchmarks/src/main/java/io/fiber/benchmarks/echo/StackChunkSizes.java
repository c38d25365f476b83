package io.fiber.benchmarks.echo;

import io.fiber.Fibers;
import io.fiber.load.EchoConnection;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * How many bytes of heap each parked echo handler's stack takes: the stack chunks of the threads
 * parked in {@link EchoBenchmarkServer#echoUntilClosed}, read by reflection from {@code jdk.internal.vm}.
 * Unlike a server's RSS, this does not depend on when collections ran, but it does depend on the
 * JIT: a thread whose frames were entered while their methods were still interpreted keeps larger
 * frames for its whole life. So it first serves {@code WARM} connections of 50 round trips each
 * (0 for a cold start, as in the echo benchmark's idle scenario), then opens {@code N} connections
 * of one round trip each and measures their handlers, parked in their next read.
 *
 * <pre>
 * java --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/jdk.internal.vm=ALL-UNNAMED \
 *     [-javaagent:fiber-agent/target/fiber-agent.jar] -cp benchmarks/target/benchmarks.jar \
 *     io.fiber.benchmarks.echo.StackChunkSizes fiber|vthread WARM N
 * </pre>
 * Server and client share the process, so N is bounded by half the open-file limit.
 */
public final class StackChunkSizes {
    private StackChunkSizes() { }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !(args[0].equals("fiber") || args[0].equals("vthread"))) {
            System.err.println("usage: StackChunkSizes fiber|vthread WARM N");
            System.exit(2);
        }
        Executor spawner = args[0].equals("fiber") ? Fibers::spawn : task -> Thread.ofVirtual().start(task);
        int warm = Integer.parseInt(args[1]);
        int measured = Integer.parseInt(args[2]);
        List<Thread> handlers = new CopyOnWriteArrayList<>();
        try (ServerSocket server = new ServerSocket(0, 20_000, InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        Socket connection = server.accept();
                        spawner.execute(() -> {
                            handlers.add(Thread.currentThread());
                            EchoBenchmarkServer.echoUntilClosed(connection, EchoBenchmarkServer.READ_BUFFER_SIZE);
                        });
                    }
                } catch (IOException closed) {
                    // done
                }
            });
            for (int i = 0; i < warm; i++) {
                try (Socket client = connect(server)) {
                    for (int k = 0; k < 50; k++) {
                        roundTrip(client);
                    }
                }
            }
            Thread.sleep(500);
            handlers.clear();
            List<Socket> clients = new ArrayList<>();
            for (int i = 0; i < measured; i++) {
                Socket client = connect(server);
                roundTrip(client);
                clients.add(client);
            }
            Thread.sleep(1000);
            report(args[0], warm, handlers);
            for (Socket client : clients) {
                client.close();
            }
        }
    }

    private static Socket connect(ServerSocket server) throws IOException {
        Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        client.setTcpNoDelay(true);
        return client;
    }

    private static void roundTrip(Socket client) throws IOException {
        client.getOutputStream().write(new byte[EchoConnection.MESSAGE_SIZE]);
        client.getInputStream().readNBytes(EchoConnection.MESSAGE_SIZE);
    }

    /** Average chunk capacity and use per handler, and the five commonest shapes. */
    private static void report(String mode, int warm, List<Thread> handlers) throws ReflectiveOperationException {
        Field cont = field("java.lang.VirtualThread", "cont");
        Field tail = field("jdk.internal.vm.Continuation", "tail");
        Field parent = field("jdk.internal.vm.StackChunk", "parent");
        Field size = field("jdk.internal.vm.StackChunk", "size");       // words
        Field sp = field("jdk.internal.vm.StackChunk", "sp");
        Field bottom = field("jdk.internal.vm.StackChunk", "bottom");
        Map<String, Integer> shapes = new TreeMap<>();
        long capacity = 0;
        long used = 0;
        for (Thread handler : handlers) {
            int chunks = 0;
            int words = 0;
            int usedWords = 0;
            for (Object c = tail.get(cont.get(handler)); c != null; c = parent.get(c)) {
                chunks++;
                words += size.getInt(c);
                usedWords += bottom.getInt(c) - sp.getInt(c);
            }
            capacity += words * 8L;
            used += usedWords * 8L;
            shapes.merge(chunks + " chunk(s), " + words * 8 + " B capacity, " + usedWords * 8 + " B used", 1, Integer::sum);
        }
        int n = Math.max(1, handlers.size());
        System.out.printf("%s, %d warm-up connections: %d parked handlers, stack chunk %d B capacity, %d B used on average%n",
                mode, warm, handlers.size(), capacity / n, used / n);
        shapes.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(5)
                .forEach(e -> System.out.printf("  %6d x %s%n", e.getValue(), e.getKey()));
    }

    private static Field field(String className, String name) throws ReflectiveOperationException {
        Field f = Class.forName(className).getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
