package io.fiber.detector;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** The JFR event of every flagged call ({@code io.fiber.BlockingCall}), recorded when a recording enables it. */
@Name("io.fiber.BlockingCall")
@Label("Blocking Call")
@Category({"Fiber"})
@Description("A call that held a carrier (or watched) thread, flagged by the fiber runtime's blocking-call detector")
@StackTrace(true)
final class BlockingCallEvent extends Event {
    @Label("Method")
    String method;
    @Label("Category")
    String category;
    @Label("Thread Name")
    String threadName;
    @Label("In Fiber")
    boolean fiber;
    @Label("Carrier")
    String carrier;
    @Label("Detail")
    String detail;

    static void emit(BlockingCall call) {
        BlockingCallEvent event = new BlockingCallEvent();
        if (event.shouldCommit()) {
            event.method = call.method();
            event.category = call.category().name();
            event.threadName = call.threadName();
            event.fiber = call.fiber();
            event.carrier = call.carrier();
            event.detail = call.detail();
            event.commit();
        }
    }
}
