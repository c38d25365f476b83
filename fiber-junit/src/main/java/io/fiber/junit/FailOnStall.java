package io.fiber.junit;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Fails each test of the annotated class (or the annotated test) whose fibers can no longer make
 * progress, with the scheduler's stall report (what each fiber waits for, deadlock cycles, a fiber
 * dump), instead of letting it hang until a timeout: {@link StallExtension} says when and how. Works
 * with or without the agent.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(StallExtension.class)
public @interface FailOnStall {
}
