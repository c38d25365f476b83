package io.fiber.examples;

import com.sun.net.httpserver.HttpServer;
import io.fiber.FiberGroupStats;
import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crawler: every page's counts equal those of the text the server generated for it, the totals
 * add up, the fetchers stayed within their bound, and the program's output says so.
 */
class CrawlerExampleTest {

    @Test
    void theChordOfChainsCountsEveryPagesWords() throws Exception {
        int pages = 120;
        try (FiberScheduler scheduler = FiberScheduler.builder().name("crawler-test").carriers(2).build()) {
            HttpServer server = CrawlerExample.startPageServer(scheduler);
            try {
                CrawlerExample.Crawl crawl = CrawlerExample.crawl(scheduler,
                        URI.create("http://127.0.0.1:" + server.getAddress().getPort()), pages);
                assertEquals(pages, crawl.perPage().size());
                List<Map<String, Integer>> expected = new ArrayList<>();
                for (int n = 0; n < pages; n++) {
                    Map<String, Integer> counts = CrawlerExample.countWords(CrawlerExample.page(n));
                    assertEquals(counts, crawl.perPage().get(n), "page " + n);
                    expected.add(counts);
                }
                assertEquals(CrawlerExample.merge(expected), crawl.totals());
                FiberGroupStats group = scheduler.stats().groups().getFirst();
                assertEquals("crawl", group.name());
                assertEquals(pages, group.finished(), group.toString());
                assertEquals(CrawlerExample.FETCHERS, group.maxConcurrent());
            } finally {
                server.stop(0);
            }
        }
    }

    @Test
    void theProgramPrintsTheCrawlAndItsTopWords() throws Exception {
        String out = captured(() -> CrawlerExample.main(new String[] {"40"}));
        long words = 0;
        for (int n = 0; n < 40; n++) {
            words += CrawlerExample.countWords(CrawlerExample.page(n)).values().stream().mapToInt(Integer::intValue).sum();
        }
        assertTrue(out.contains(String.format("crawled 40 pages from http://127.0.0.1:")), out);
        assertTrue(out.contains(String.format("with at most 8 fetchers at once: %,d words", words)), out);
        assertTrue(out.contains("top words: "), out);
        assertTrue(out.contains("group crawl"), out);
    }

    interface Body {
        void run() throws Exception;
    }

    /** What {@code body} prints on standard output. */
    static String captured(Body body) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setOut(original);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
