package io.fiber.junit;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Fails each test of the annotated class (or the annotated test) whose fibers made a blocking call,
 * listing every call with its stack: {@link BlockingCallExtension} explains what counts and when.
 * Needs the JVM to run with {@code -javaagent:fiber-agent.jar}.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(BlockingCallExtension.class)
public @interface DetectBlockingCalls {
}
