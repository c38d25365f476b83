package io.fiber.benchmarks;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.internal.Settings;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ./run bench remedies [SECONDS] [ROUNDS]}: which remedy suits which family of calls that
 * hold a carrier, measured side by side in one JVM (run under the agent, so sleeps use the carriers'
 * own timers). One carrier; a reader fiber does a call family in a loop while a ping fiber sleeps 1 ms
 * per ping and records how late it wakes. Per family and remedy it prints the reader's calls per
 * second and the ping's p50/p99/max lateness:
 * <ul>
 *   <li><b>none</b>: handoff off, the call runs on the carrier (what the JDK's own scheduler would do
 *       without its compensation);</li>
 *   <li><b>handoff</b>: the default, the call runs on the carrier and the watchdog hands the
 *       carrier's other work to a new thread when one run holds it too long;</li>
 *   <li><b>offload</b>: every call goes through {@link Fibers#blocking}, so it runs on the offload
 *       pool and the fiber parks.</li>
 * </ul>
 * Families: small file reads (64 KiB from the page cache: short calls, many of them), large file
 * reads (8 MiB per call), and a slow native wait (a 20 ms pinned park, as a JNI call or a driver's
 * native wait would be). Rounds alternate the remedies so drift on a shared machine hits all alike.
 *
 * <p>Launched under the agent option {@code offload=file} (the second JVM {@code ./run bench remedies}
 * starts), it measures that option instead: the file families only, the calls made plainly in the
 * fiber, which the agent remounts on the offload pool for each call ("offload-agent").
 */
public final class BlockingRemedyMain {
    enum Remedy { NONE, HANDOFF, OFFLOAD }

    /** One call of a family; returns bytes read or 0. */
    interface Call {
        long call() throws Exception;
    }

    record Family(String name, Call call) { }

    record Result(long calls, double seconds, double p50, double p99, double max) { }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path file = Files.createTempFile("fiber-remedy", ".bin");
        try {
            byte[] chunk = new byte[1 << 20];
            Arrays.fill(chunk, (byte) 1);
            try (var out = Files.newOutputStream(file)) {
                for (int i = 0; i < 16; i++) {
                    out.write(chunk);
                }
            }
            boolean agentOffload = Settings.OFFLOAD.fromSystemProperty().contains("file"); // the agent option offload=
            Family[] families = agentOffload
                    ? new Family[] {
                        new Family("file read 64 KiB", () -> read(file, 64 << 10)),
                        new Family("file read 8 MiB", () -> read(file, 8 << 20)),
                    }
                    : new Family[] {
                        new Family("file read 64 KiB", () -> read(file, 64 << 10)),
                        new Family("file read 8 MiB", () -> read(file, 8 << 20)),
                        new Family("pinned park 20 ms", PinnedPark::once),
                    };
            Remedy[] remedies = agentOffload ? new Remedy[] {Remedy.HANDOFF} : Remedy.values();
            if (!agentOffload) {
                System.out.printf("%-18s %-13s %14s %10s %10s %10s%n", "family", "remedy", "calls/s", "ping p50", "p99", "max ms");
            }
            for (Family family : families) {
                for (Remedy remedy : remedies) {
                    measure(family, remedy, 0.3); // warm-up
                }
                Result[][] results = new Result[Remedy.values().length][rounds];
                for (int r = 0; r < rounds; r++) {
                    for (Remedy remedy : remedies) {
                        results[remedy.ordinal()][r] = measure(family, remedy, seconds);
                    }
                }
                for (Remedy remedy : remedies) {
                    Result[] rs = results[remedy.ordinal()];
                    double rate = Arrays.stream(rs).mapToDouble(x -> x.calls / x.seconds).sorted().toArray()[rounds / 2];
                    double p50 = median(rs, Result::p50);
                    double p99 = median(rs, Result::p99);
                    double max = median(rs, Result::max);
                    System.out.printf(Locale.ROOT, "%-18s %-13s %,14.0f %10.2f %10.2f %10.2f%n",
                            family.name, agentOffload ? "offload-agent" : remedy.name().toLowerCase(Locale.ROOT), rate, p50, p99, max);
                }
            }
            System.out.printf("%s: medians of %d rounds of %.1f s each%s; 1 carrier%n", agentOffload ? "agent offload=file" : "one JVM",
                    rounds, seconds, agentOffload ? "" : ", remedies interleaved");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static double median(Result[] rs, java.util.function.ToDoubleFunction<Result> f) {
        double[] v = Arrays.stream(rs).mapToDouble(f).sorted().toArray();
        return v[v.length / 2];
    }

    private static long read(Path file, int size) throws IOException {
        byte[] buffer = new byte[size];
        long total = 0;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek((long) (Math.random() * (raf.length() - size)));
            total += raf.read(buffer);
        }
        return total;
    }

    /** A park pinned by a class initialiser: the carrier thread itself waits 20 ms. */
    static final class PinnedPark {
        static long once() throws Exception {
            ClassLoader loader = new ClassLoader(PinnedPark.class.getClassLoader()) {
                @Override
                protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                    if (!name.equals(SlowInit.class.getName())) {
                        return super.loadClass(name, resolve);
                    }
                    try (var in = PinnedPark.class.getResourceAsStream("/" + name.replace('.', '/') + ".class")) {
                        byte[] bytes = in.readAllBytes();
                        return defineClass(name, bytes, 0, bytes.length);
                    } catch (IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                }
            };
            Class.forName(SlowInit.class.getName(), true, loader); // a fresh copy each time, so <clinit> runs again
            return 0;
        }
    }

    static final class SlowInit {
        static {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Result measure(Family family, Remedy remedy, double seconds) throws Exception {
        FiberScheduler scheduler = FiberScheduler.builder().carriers(1).name("remedy")
                .handoffAfter(remedy == Remedy.NONE ? Duration.ZERO : Duration.ofMillis(10)).build();
        try (scheduler) {
            AtomicBoolean stop = new AtomicBoolean();
            Fiber<double[]> ping = scheduler.spawn(() -> {
                double[] late = new double[1 << 20];
                int n = 0;
                while (!stop.get() && n < late.length) {
                    long start = System.nanoTime();
                    Thread.sleep(1);
                    late[n++] = Math.max(0, (System.nanoTime() - start) / 1e6 - 1);
                }
                return Arrays.copyOf(late, n);
            });
            long start = System.nanoTime();
            long deadline = start + (long) (seconds * 1e9);
            Fiber<Long> reader = scheduler.spawn(() -> {
                long calls = 0;
                while (System.nanoTime() < deadline) {
                    if (remedy == Remedy.OFFLOAD) {
                        Fibers.blocking(family.call::call);
                    } else {
                        family.call.call();
                    }
                    calls++;
                    if ((calls & 15) == 0) {
                        Fibers.yield(); // a real reader does other things between calls
                    }
                }
                return calls;
            });
            long calls = reader.get();
            double elapsed = (System.nanoTime() - start) / 1e9;
            stop.set(true);
            double[] late = ping.get();
            Arrays.sort(late);
            if (late.length == 0) {
                late = new double[] {elapsed * 1000};
            }
            return new Result(calls, elapsed, late[late.length / 2], late[(int) Math.ceil(late.length * 0.99) - 1], late[late.length - 1]);
        }
    }
}
