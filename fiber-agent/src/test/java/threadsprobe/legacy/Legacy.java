package threadsprobe.legacy;

/** Code in another package, for the exclusion by package: it starts one thread and says what it was. */
public final class Legacy {
    private Legacy() { }

    public static String startOne() throws InterruptedException {
        boolean[] virtual = new boolean[1];
        Thread t = new Thread(() -> virtual[0] = Thread.currentThread().isVirtual());
        t.start();
        t.join();
        return "virtual=" + virtual[0];
    }
}
