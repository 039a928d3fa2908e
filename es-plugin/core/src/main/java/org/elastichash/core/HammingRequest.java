package org.elastichash.core;

import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.search.Query;

/**
 * What to search for: the query code, where the index keeps codes, how many neighbours, and
 * under which conditions. Validated on construction; messages start with the parameter's name.
 *
 * @param code the query code as 64-bit words
 * @param layout where the index keeps its codes
 * @param k how many nearest documents to return
 * @param maxDistance only documents within this distance; {@link #NO_MAX_DISTANCE} for none
 * @param mode exact, or the paper's fixed-radius two stages
 * @param radius the sub-code radius of {@link Mode#PAPER}
 * @param filter only documents matching it are candidates; null for all
 */
public record HammingRequest(
    long[] code,
    CodeLayout layout,
    int k,
    int maxDistance,
    Mode mode,
    int radius,
    Query filter
) {

    /** How the neighbours are found. */
    public enum Mode {
        /** The true k nearest: multi-index hashing with a growing radius, or a scan. */
        EXACT,
        /** The paper's two stages: candidates with a short-code sub-code within a fixed radius. */
        PAPER
    }

    public static final int NO_MAX_DISTANCE = -1;

    /** The paper's sub-code radius. */
    public static final int PAPER_RADIUS = 2;

    /** Sub-code positions the paper's filter reads: the short code, bits 0-63. */
    public static final int PAPER_POSITIONS = 4;

    public HammingRequest {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(layout, "layout");
        if (code.length != layout.words()) {
            throw new IllegalArgumentException(
                "[code] has " + code.length * HammingCodes.WORD_BITS + " bits but the index's codes have " + layout.words() * HammingCodes.WORD_BITS
            );
        }
        if (k < 1) {
            throw new IllegalArgumentException("[k] must be at least 1, got " + k);
        }
        int bits = code.length * HammingCodes.WORD_BITS;
        if (maxDistance != NO_MAX_DISTANCE && (maxDistance < 0 || maxDistance > bits)) {
            throw new IllegalArgumentException("[max_distance] must be between 0 and " + bits + ", got " + maxDistance);
        }
        if (radius < 0 || radius > HammingCodes.SUBCODE_BITS) {
            throw new IllegalArgumentException("[radius] must be between 0 and " + HammingCodes.SUBCODE_BITS + ", got " + radius);
        }
    }

    /** An exact request for the k nearest, no filter, no distance limit. */
    public static HammingRequest exact(long[] code, CodeLayout layout, int k) {
        return new HammingRequest(code, layout, k, NO_MAX_DISTANCE, Mode.EXACT, PAPER_RADIUS, null);
    }

    /** Bits in a code: the largest possible distance. */
    public int bits() {
        return code.length * HammingCodes.WORD_BITS;
    }

    /** The largest distance a hit may have. */
    int distanceLimit() {
        return maxDistance == NO_MAX_DISTANCE ? bits() : maxDistance;
    }

    /** Sub-code positions the search reads: all of the code's, or the short code's in paper mode. */
    int positions() {
        int all = code.length * HammingCodes.SUBCODES_PER_WORD;
        return mode == Mode.PAPER ? Math.min(PAPER_POSITIONS, all) : all;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HammingRequest r
            && Arrays.equals(code, r.code)
            && layout.equals(r.layout)
            && k == r.k
            && maxDistance == r.maxDistance
            && mode == r.mode
            && radius == r.radius
            && Objects.equals(filter, r.filter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(code), layout, k, maxDistance, mode, radius, filter);
    }

    @Override
    public String toString() {
        return "hamming(code="
            + HammingCodes.toHex(code)
            + ", k="
            + k
            + (maxDistance == NO_MAX_DISTANCE ? "" : ", max_distance=" + maxDistance)
            + ", mode="
            + mode.name().toLowerCase(java.util.Locale.ROOT)
            + (mode == Mode.PAPER ? ", radius=" + radius : "")
            + (filter == null ? "" : ", filter=" + filter)
            + ")";
    }
}
