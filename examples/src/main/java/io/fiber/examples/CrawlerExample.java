package io.fiber.examples;

import com.sun.net.httpserver.HttpServer;
import io.fiber.Fiber;
import io.fiber.FiberGroup;
import io.fiber.FiberScheduler;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The map/reduce crawler of the Celery brief, written with fibers. In Celery it is a chord of
 * chains: {@code chord(chain(fetch.s(url), count_words.s()) for url in urls)(merge.s())}, each
 * chain fetching a page and counting its words on whichever worker takes it, the chord's callback
 * merging the counts once every chain is done.
 *
 * <p>Here a chain is what it always wanted to be, sequential code in one fiber
 * ({@code countWords(fetch(url))}); the chord is the fibers spawned together and joined, then the
 * merge. The fetchers run in a group, {@code crawl}, bounded to {@value #FETCHERS} at once, as a
 * Celery worker started with {@code -c 8}: a polite crawler, whatever the number of pages; the
 * scheduler's other fibers (the page server's own) are not held up by them.
 *
 * <p>The pages come from a JDK {@code HttpServer} on the loopback address, serving {@code /page/N}:
 * text generated from N ({@link #page}), so the counts can be checked. From the command line:
 * {@code ./run mvn -q -pl examples -am package -DskipTests}, then
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED -cp "examples/target/fiber-examples.jar:examples/target/lib/*"
 * io.fiber.examples.CrawlerExample [pages]}.
 */
public final class CrawlerExample {
    /** How many fetchers run at once: the {@code crawl} group's bound. */
    static final int FETCHERS = 8;
    private static final String[] VOCABULARY = {
        "fiber", "carrier", "queue", "worker", "task", "chord", "chain", "group", "lane", "broker",
        "result", "retry", "beat", "celery", "green", "thread", "yield", "sleep", "socket", "timer"};

    /** What the crawl found: words per page, and the merged counts. */
    record Crawl(Map<Integer, Map<String, Integer>> perPage, Map<String, Integer> totals) {
        long words() {
            return totals.values().stream().mapToLong(Integer::longValue).sum();
        }
    }

    private CrawlerExample() { }

    public static void main(String[] args) throws Exception {
        int pages = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        try (FiberScheduler scheduler = FiberScheduler.builder().name("crawler").build()) {
            HttpServer server = startPageServer(scheduler);
            try {
                URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
                Crawl crawl = crawl(scheduler, base, pages);
                System.out.printf("crawled %d pages from %s with at most %d fetchers at once: %,d words%n",
                        crawl.perPage().size(), base, FETCHERS, crawl.words());
                List<Map.Entry<String, Integer>> top = new ArrayList<>(crawl.totals().entrySet());
                top.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
                StringBuilder line = new StringBuilder("top words:");
                for (Map.Entry<String, Integer> e : top.subList(0, Math.min(5, top.size()))) {
                    line.append(' ').append(e.getKey()).append('=').append(e.getValue());
                }
                System.out.println(line);
                System.out.println(scheduler.stats().groups().getFirst());
            } finally {
                server.stop(0);
            }
        }
    }

    /**
     * The chord: one chain (fetch, then count) per page, in the group {@code crawl}, then the merge.
     * Runs on {@code scheduler}; the caller's thread waits.
     */
    static Crawl crawl(FiberScheduler scheduler, URI base, int pages) throws InterruptedException {
        FiberGroup crawlers = scheduler.group("crawl").maxConcurrent(FETCHERS).build();
        Map<Integer, Fiber<Map<String, Integer>>> chains = new TreeMap<>();
        for (int n = 0; n < pages; n++) {
            URI url = base.resolve("/page/" + n);
            chains.put(n, crawlers.spawn(() -> countWords(fetch(url))));
        }
        Map<Integer, Map<String, Integer>> perPage = new TreeMap<>();
        for (Map.Entry<Integer, Fiber<Map<String, Integer>>> chain : chains.entrySet()) {
            perPage.put(chain.getKey(), chain.getValue().get()); // a failed chain fails the chord, as in Celery
        }
        return new Crawl(perPage, merge(perPage.values()));
    }

    /** The first link of a chain: the page's body, by a blocking request the fiber waits out. */
    static String fetch(URI url) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) url.toURL().openConnection();
        try (InputStream in = connection.getInputStream()) {
            if (connection.getResponseCode() != 200) {
                throw new IOException(url + " answered " + connection.getResponseCode());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The second link: how often each word occurs in {@code text}. */
    static Map<String, Integer> countWords(String text) {
        Map<String, Integer> counts = new HashMap<>();
        for (String word : text.split("\\s+")) {
            if (!word.isEmpty()) {
                counts.merge(word, 1, Integer::sum);
            }
        }
        return counts;
    }

    /** The chord's callback: the counts of every page, added up. */
    static Map<String, Integer> merge(Iterable<Map<String, Integer>> pages) {
        Map<String, Integer> totals = new TreeMap<>();
        for (Map<String, Integer> page : pages) {
            page.forEach((word, count) -> totals.merge(word, count, Integer::sum));
        }
        return totals;
    }

    /** Page {@code n}: 50 to 249 words of the vocabulary, drawn by a generator seeded with n. */
    static String page(int n) {
        Random random = new Random(n);
        int words = 50 + random.nextInt(200);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < words; i++) {
            text.append(VOCABULARY[random.nextInt(VOCABULARY.length)]).append(i % 12 == 11 ? '\n' : ' ');
        }
        return text.toString();
    }

    /** A server of {@link #page}s on a free loopback port, each exchange handled in a fiber of {@code scheduler}. */
    static HttpServer startPageServer(FiberScheduler scheduler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        server.createContext("/page/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                int n;
                try {
                    n = Integer.parseInt(path.substring("/page/".length()));
                } catch (NumberFormatException e) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                byte[] body = page(n).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
        });
        server.setExecutor(scheduler::spawn); // outside any group: the fetchers' bound does not hold the pages up
        server.start();
        return server;
    }
}
