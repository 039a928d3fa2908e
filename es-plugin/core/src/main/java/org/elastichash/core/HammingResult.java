package org.elastichash.core;

/**
 * The nearest documents of one searcher, and how they were found.
 *
 * @param docs global document numbers, ascending
 * @param distances the Hamming distance of each document in {@code docs}
 * @param stats what the search did
 */
public record HammingResult(int[] docs, int[] distances, Stats stats) {

    /**
     * What a search did, for {@code explain} and {@code profile}.
     *
     * @param radius the largest sub-code radius looked up in some segment, at every position that could
     *     still hold a document within the bound (-1: none)
     * @param termLookups sub-code terms looked up
     * @param candidates documents whose code was compared with the query's
     * @param segments segments searched
     * @param segmentsScanned segments whose codes were read in full instead (small, or cheaper to scan)
     * @param scanSlices the parts those scans were cut into, each run as a task of its own
     * @param segmentsGrouped of the segments scanned, those scanned through their groups around
     *     pivots ({@link PivotPartition}): the codes the triangle inequality rules out were skipped
     */
    public record Stats(int radius, long termLookups, long candidates, int segments, int segmentsScanned, int scanSlices, int segmentsGrouped) {
        @Override
        public String toString() {
            return "radius "
                + radius
                + ", "
                + termLookups
                + " term lookups, "
                + candidates
                + " candidates compared, "
                + segmentsScanned
                + " of "
                + segments
                + " segments scanned"
                + (segmentsGrouped > 0 ? " (" + segmentsGrouped + " through pivot groups)" : "");
        }
    }

    public int size() {
        return docs.length;
    }
}
