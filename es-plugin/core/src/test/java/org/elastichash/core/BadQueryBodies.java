package org.elastichash.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared table of bad {@code hamming} query bodies and their messages
 * ({@code bad-query-bodies.tsv}): every engine's query builder test reads it, so that the glues
 * are held to the same answers.
 */
public final class BadQueryBodies {

    /** One refused body and the message its refusal must carry. */
    public record Case(String body, String message) {}

    private BadQueryBodies() {}

    public static List<Case> cases() {
        try (InputStream in = BadQueryBodies.class.getResourceAsStream("bad-query-bodies.tsv")) {
            if (in == null) {
                throw new IllegalStateException("bad-query-bodies.tsv is not on the test class path");
            }
            List<Case> cases = new ArrayList<>();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split("\t", 2);
                cases.add(new Case(parts[0], parts[1]));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
