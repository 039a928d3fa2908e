package org.elastichash.core;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.FixedBitSet;

/**
 * The k documents of a Lucene index nearest to a query code in Hamming distance.
 *
 * <p>Exact mode is multi-index hashing with a growing radius (Norouzi et al., CVPR 2012). The
 * code's m sub-codes are indexed as terms; a document within distance D of the query has some
 * sub-code within floor(D / m) of the query's. For r = 0, 1, ... the search looks up every term
 * at sub-code distance exactly r, compares the documents found on their whole code, and stops
 * once m * (r + 1) exceeds the k-th distance found: nothing unseen can be nearer. Ring r needs
 * only the first (bound - m * r + 1) positions (see {@link #probedPositions}). Each document
 * is compared in the ring where it is first found (its nearest sub-code, first position), so no
 * document is counted twice and nothing is remembered per document. Where looking further would
 * cost more than reading every code of a segment (whose slices share the machine's cores), the
 * segment is scanned instead, in slices spread over the engine's threads; the scan offers every
 * code within its bound and the merge leaves out the documents the rings found. Between units of work
 * the search asks the engine whether it must stop ({@link Runtime#checkCancelled}).
 *
 * <p>Paper mode is the CAIP 2021 filter: documents with one of the short code's 4 sub-codes
 * within a fixed radius, ranked on the whole code.
 *
 * <p>Codes are read from the engine's {@link CodeCache} where it holds the segment (arrays in the
 * heap, the scan at memory speed), otherwise from the field's doc-value columns.
 *
 * <p>Memory: the k best pairs (8 bytes each) twice for the search and once for every scan slice, 4 KiB of
 * distances per scan slice, a fixed 64 KiB buffer of postings (with their documents and distances),
 * and with a filter one bit per document of each segment ({@link #bytesNeeded}).
 */
public final class HammingSearch {

    // The cost model, in units of "one document's code compared by a scan" (about 6 ns with
    // bulk doc-value reads). Measured with SearchCostProbe on 1M clustered codes: a term lookup
    // costs about 60 such units, a posting (sorted, read at random, compared) about 25.
    static final double TERM_COST = 60;
    static final double POSTING_COST = 25;
    // With the segment's words in the CodeCache (measured in-process, same machine): a scan
    // reads a code in about 0.8 ns (0.15 units), a posting's check one word per array (about 7 units).
    static final double CACHED_SCAN_COST = 0.15;
    static final double CACHED_POSTING_COST = 7;
    // A partitioned segment's scan (PivotPartition) compares 17-33 % of the codes of real images,
    // about 0.4 ns per code of the segment (0.07 units), but nearly all codes in many small tight
    // clusters, where the rings win. So the rings beyond 0 keep the plain scan's cost; ring 0,
    // which pays only where near-copies end the search at once, is weighed against the
    // partitioned scan (measured: on realistic codes ring 0 read a few thousand postings at
    // ~70 ns each, a third of the query's time, and the scan followed anyway).
    static final double PARTITIONED_SCAN_COST = 0.07;

    /** What a posting and a scanned code cost, in scan units, for codes read one way or the other. */
    private record Costs(double posting, double scan) {
        static final Costs COLUMNS = new Costs(POSTING_COST, 1);
        static final Costs CACHED = new Costs(CACHED_POSTING_COST, CACHED_SCAN_COST);
        static final Costs PARTITIONED = new Costs(CACHED_POSTING_COST, PARTITIONED_SCAN_COST);

        static Costs of(SegmentCodes codes) {
            return codes instanceof CachedCodes ? CACHED : COLUMNS;
        }
    }
    /** Segments with at most this many candidate documents are scanned: cheaper than hashing. */
    static final int SCAN_BELOW = 4096;
    /**
     * A filtered scan of a segment grouped around pivots goes through its groups when the filter
     * accepts more than 1/32 of its documents, and reads the accepted documents' codes one by one
     * below that: a code read at random costs about as much as a few dozen codes of a group's run.
     */
    static final int FILTERED_GROUP_SCAN = 32;
    /** Documents per scan task. */
    static final int SCAN_SLICE = 1 << 18;
    /** Cores the scan slices of one search may run on at once. */
    private static final int PARALLELISM = java.lang.Runtime.getRuntime().availableProcessors();
    private static final int BUFFER = 4096;

    /**
     * How a search runs inside its engine.
     *
     * @param scanThreads the threads that may share a large segment's scan (the calling thread
     *     takes part, so a busy pool only slows a scan down), or null for the searcher's executor
     * @param checkCancelled called between units of work (a ring's lookups of one position, a
     *     buffer of candidates, a block of a scan) on every thread of the search; it throws when
     *     the engine's timeout has passed or the search was cancelled, which ends the search there
     * @param codeCache the node's arrays of codes, or null to read every code from its columns
     */
    public record Runtime(Executor scanThreads, Runnable checkCancelled, CodeCache codeCache) {

        /** The searcher's own executor, never cancelled, codes read from their columns. */
        public static final Runtime DEFAULT = new Runtime(null, () -> {}, null);

        public Runtime {
            Objects.requireNonNull(checkCancelled, "checkCancelled");
        }
    }

    /** Blocks of a scan between two {@link Runtime#checkCancelled} calls: 16K documents. */
    private static final int BLOCKS_PER_CHECK = 16;

    private final IndexSearcher searcher;
    private final TaskExecutor scanExecutor;
    private final Runnable checkCancelled;
    private final CodeCache codeCache;
    private final int sliceSize;
    private final HammingRequest request;
    private final CodeLayout layout;
    private final long[] code;
    private final int positions;
    private final int limit;
    private final boolean exact;
    private final BytesRef[] terms;
    private final int[] querySubCodes;
    private final TopK top;
    private final Weight filter;
    private final List<Slice> scans = new ArrayList<>();
    private final long[] buffer = new long[BUFFER];
    /** The buffered documents and their distances, for codes compared from the heap in a batch. */
    private final int[] batchDocs = new int[BUFFER];
    private final int[] batchDistances = new int[BUFFER];

    private int radius = -1;
    private long termLookups;
    private long candidates;
    private int segments;

    private HammingSearch(IndexSearcher searcher, HammingRequest request, Runtime runtime, int sliceSize) throws IOException {
        this.searcher = searcher;
        this.scanExecutor = runtime.scanThreads() == null ? searcher.getTaskExecutor() : new TaskExecutor(runtime.scanThreads());
        this.checkCancelled = runtime.checkCancelled();
        this.codeCache = runtime.codeCache();
        this.sliceSize = sliceSize;
        this.request = request;
        this.code = request.code();
        this.positions = request.positions();
        this.limit = request.distanceLimit();
        this.exact = request.mode() == HammingRequest.Mode.EXACT;
        this.querySubCodes = HammingCodes.subCodes(code);
        this.layout = request.layout();
        this.terms = new BytesRef[positions];
        for (int p = 0; p < positions; p++) {
            // One reusable buffer per position: the value part is rewritten per lookup.
            terms[p] = layout.newTerm(p);
        }
        this.top = new TopK(request.k());
        this.filter = request.filter() == null
            ? null
            : searcher.createWeight(searcher.rewrite(request.filter()), ScoreMode.COMPLETE_NO_SCORES, 1f);
    }

    /** Finds the nearest documents of {@code searcher}'s index; scans run on the searcher's executor. */
    public static HammingResult search(IndexSearcher searcher, HammingRequest request) throws IOException {
        return search(searcher, request, Runtime.DEFAULT);
    }

    /** Finds the nearest documents of {@code searcher}'s index, as {@code runtime} says. */
    public static HammingResult search(IndexSearcher searcher, HammingRequest request, Runtime runtime) throws IOException {
        return search(searcher, request, runtime, SCAN_SLICE);
    }

    /** As {@link #search(IndexSearcher, HammingRequest, Runtime)}, with scan slices of {@code sliceSize} documents. */
    static HammingResult search(IndexSearcher searcher, HammingRequest request, Runtime runtime, int sliceSize) throws IOException {
        return new HammingSearch(searcher, request, runtime, sliceSize).run();
    }

    /**
     * An upper bound of the memory a search of these segments holds at once, for circuit
     * breakers: the k best pairs once for the search, once more as the sorted copy the merge
     * checks the scans against, and once per scan slice (every slice of every segment may be
     * scanned, each keeping its own k best until they are merged) with the slice's block of
     * distances, the postings buffer, and with a filter one bit per document of every segment
     * (a segment scanned through its groups keeps its filter's bits until the scans end).
     */
    public static long bytesNeeded(HammingRequest request, List<LeafReaderContext> leaves) {
        return bytesNeeded(request, leaves, SCAN_SLICE);
    }

    static long bytesNeeded(HammingRequest request, List<LeafReaderContext> leaves, int sliceSize) {
        long slicesBytes = 0;
        long filterBits = 0;
        long perSlice = TopK.bytesFor(request.k()) + (long) SegmentCodes.BLOCK * Integer.BYTES;
        for (LeafReaderContext leaf : leaves) {
            int maxDoc = leaf.reader().maxDoc();
            long ranges = (maxDoc + (long) sliceSize - 1) / sliceSize;
            // A partitioned segment is scanned in one slice per core, each ordering the groups (and taking them in turn).
            long groups = Math.max(1, Math.min(PivotPartition.MAX_PIVOTS, maxDoc / PivotPartition.CODES_PER_PIVOT));
            long partitioned = PARALLELISM * (perSlice + groups * (Long.BYTES + Integer.BYTES));
            slicesBytes += Math.max(ranges * perSlice, partitioned);
            filterBits += request.filter() == null ? 0 : maxDoc / 8 + 64;
        }
        long buffers = (long) BUFFER * (Long.BYTES + 2 * Integer.BYTES);
        return slicesBytes + 2 * TopK.bytesFor(request.k()) + buffers + filterBits;
    }

    private HammingResult run() throws IOException {
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            searchSegment(leaf);
        }
        int scanned = runScans();
        int grouped = (int) scans.stream().filter(slice -> slice.shared() != null).map(Slice::leaf).distinct().count();
        long[] best = top.sorted();
        long[] byDoc = new long[best.length];
        for (int i = 0; i < best.length; i++) {
            byDoc[i] = (long) TopK.docOf(best[i]) << 32 | TopK.distanceOf(best[i]);
        }
        Arrays.sort(byDoc);
        int[] docs = new int[byDoc.length];
        int[] distances = new int[byDoc.length];
        for (int i = 0; i < byDoc.length; i++) {
            docs[i] = (int) (byDoc[i] >>> 32);
            distances[i] = (int) byDoc[i];
        }
        return new HammingResult(docs, distances, new HammingResult.Stats(radius, termLookups, candidates, segments, scanned, scans.size(), grouped));
    }

    private void searchSegment(LeafReaderContext leaf) throws IOException {
        LeafReader reader = leaf.reader();
        if (reader.numDocs() == 0) {
            return;
        }
        long candidateBound = reader.numDocs();
        FixedBitSet filterBits = null;
        if (filter != null) {
            Scorer scorer = filter.scorer(leaf);
            if (scorer == null) {
                return;
            }
            candidateBound = Math.min(candidateBound, scorer.iterator().cost());
        }
        segments++;
        // Every field up front: a hidden sub-code field must not turn into a scan of the codes.
        HiddenFields.requireVisible(reader, layout.parameter(), layout.fieldsRead());
        Terms terms = reader.terms(layout.termField());
        if (exact && (terms == null || candidateBound <= SCAN_BELOW)) {
            queueScan(leaf, null, candidateBound);
            return;
        }
        if (terms == null) {
            return; // paper mode finds documents through their terms only
        }
        if (filter != null) {
            filterBits = filterBits(leaf);
        }
        multiIndex(leaf, terms, filterBits, candidateBound);
    }

    /** The documents of {@code leaf} that the filter accepts (it accepts some: searchSegment asked). */
    private FixedBitSet filterBits(LeafReaderContext leaf) throws IOException {
        FixedBitSet bits = new FixedBitSet(leaf.reader().maxDoc());
        bits.or(filter.scorer(leaf).iterator());
        return bits;
    }

    private void multiIndex(LeafReaderContext leaf, Terms terms, FixedBitSet filterBits, long candidateBound) throws IOException {
        TermsEnum termsEnum = terms.iterator();
        // Postings a term far from the query holds on average: the rate of the rings further out.
        double background = terms.size() > 0 ? (double) terms.getSumDocFreq() / terms.size() : 1;
        SegmentCodes codes = layout.open(leaf.reader(), codeCache);
        Bits live = leaf.reader().getLiveDocs();
        int lastRing = exact ? HammingCodes.SUBCODE_BITS : request.radius();
        long segmentTerms = 0; // for the cost model: this segment's own term statistics
        long segmentPostings = 0;
        PostingsEnum postings = null;
        Costs costs = Costs.of(codes);
        Costs ringZero = codes instanceof CachedCodes arrays && arrays.partition() != null && filter == null ? Costs.PARTITIONED : costs;
        if (exact && ringZeroCostsMore(termsEnum, candidateBound, ringZero)) {
            // The query's own sub-codes are common ones (codes of a domain leave some sub-codes
            // crowded): reading their postings costs more than the scan that follows anyway.
            queueScan(leaf, filterBits, candidateBound);
            return;
        }
        for (int r = 0; r <= lastRing; r++) {
            if (exact) {
                // Every document not yet seen has all sub-codes at distance >= r, so distance >= m * r.
                int bound = top.bound(limit);
                if ((long) positions * r > bound) {
                    return;
                }
                // Ring 0 found under a quarter of k and nothing bounds the distance: the k-th
                // neighbour lies beyond the query's neighbourhood, where every ring costs more
                // than the last; scan straight away.
                boolean sparse = r == 1
                    && top.full() == false
                    && request.maxDistance() == HammingRequest.NO_MAX_DISTANCE
                    && (long) top.size() * 4 < request.k();
                if (r > 0 && (sparse || scanIsCheaper(r, segmentPostings, background, candidateBound, costs))) {
                    queueScan(leaf, filterBits, candidateBound);
                    return;
                }
            }
            int[] masks = SubCodeNeighbours.masks(r);
            int[] values = new int[masks.length];
            int buffered = 0;
            int probed = exact ? probedPositions(r, top.bound(limit)) : positions;
            for (int p = 0; p < probed; p++) {
                checkCancelled.run();
                for (int i = 0; i < masks.length; i++) {
                    values[i] = querySubCodes[p] ^ masks[i];
                }
                Arrays.sort(values); // terms in order: the terms enum reuses the shared prefix
                for (int value : values) {
                    segmentTerms++;
                    termLookups++;
                    if (termsEnum.seekExact(term(p, value)) == false) {
                        continue;
                    }
                    postings = termsEnum.postings(postings, PostingsEnum.NONE);
                    for (int doc = postings.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = postings.nextDoc()) {
                        segmentPostings++;
                        buffer[buffered++] = (long) doc << 8 | p;
                        if (buffered == BUFFER) {
                            checkCancelled.run();
                            compareBuffered(buffered, r, codes, live, filterBits, leaf.docBase);
                            buffered = 0;
                        }
                    }
                }
            }
            compareBuffered(buffered, r, codes, live, filterBits, leaf.docBase);
            radius = Math.max(radius, r);
        }
    }

    /**
     * Would the rings still needed cost more than scanning the segment? The rings needed run to
     * floor(bound / m) once the bound is known (k found, or a max_distance). Before that, ring r
     * ends the search only if k documents lie within m * (r + 1) - 1; where the rings so far hold
     * under half of that many, ring r will not (a document that near has some sub-code within r
     * of the query's, most often within r - 1: ring r adds fewer of them than the rings before
     * found), so one ring more is needed at least. A ring costs its term lookups, the background
     * postings of its terms, and about as many postings of the query's own neighbourhood as the
     * rings so far found.
     */
    private boolean scanIsCheaper(int r, long postingsSoFar, double background, long candidateBound, Costs costs) {
        boolean boundKnown = top.full() || request.maxDistance() != HammingRequest.NO_MAX_DISTANCE;
        int lastRing = boundKnown ? Math.min(HammingCodes.SUBCODE_BITS, top.bound(limit) / positions) : r;
        if (boundKnown == false && (long) top.countWithin(positions * (r + 1) - 1) * 2 < request.k()) {
            lastRing = Math.min(HammingCodes.SUBCODE_BITS, r + 1);
        }
        double cost = 0;
        int bound = top.bound(limit);
        for (int j = r; j <= lastRing; j++) {
            double lookups = (double) probedPositions(j, bound) * SubCodeNeighbours.ringSize(j);
            cost += lookups * (TERM_COST + background * costs.posting()) + postingsSoFar * costs.posting();
        }
        return cost > candidateBound * costs.scan() / scanParallelism(candidateBound);
    }

    /**
     * Would ring 0 cost more than half a scan of the segment? Ring 0 ends a search only when k
     * documents lie within m - 1 bits (near-copies); one that costs half a scan seldom does, and
     * the rings after it cost more. Its postings are the document frequencies of the query's own
     * sub-codes, read from the terms dictionary before any posting.
     */
    private boolean ringZeroCostsMore(TermsEnum termsEnum, long candidateBound, Costs costs) throws IOException {
        double halfScan = candidateBound * costs.scan() / scanParallelism(candidateBound) / 2;
        double cost = 0;
        for (int p = 0; p < positions && cost <= halfScan; p++) {
            termLookups++;
            cost += TERM_COST;
            if (termsEnum.seekExact(term(p, querySubCodes[p]))) {
                cost += termsEnum.docFreq() * costs.posting();
            }
        }
        return cost > halfScan;
    }

    /**
     * How many cores share a scan of {@code docs} documents: its slices run as tasks of their
     * own, as many at once as the machine has cores; the rings run on the calling thread alone.
     */
    private double scanParallelism(long docs) {
        long slices = Math.max(1, (docs + sliceSize - 1) / sliceSize);
        return Math.max(1, Math.min(slices, PARALLELISM));
    }

    /**
     * The positions whose ring {@code r} must be looked up while nothing beyond {@code bound}
     * can enter. A document not found in rings 0..r-1 has every sub-code at distance r or more;
     * within the bound, at most {@code bound - m * r} of them lie further than r, so one of the
     * first {@code bound - m * r + 1} positions is at exactly r, and that position is where the
     * ring finds it first. A document found nowhere there lies beyond the bound, and as the bound
     * only shrinks, stays there: the later rings and the scan may skip it too.
     */
    private int probedPositions(int r, int bound) {
        return (int) Math.max(0, Math.min(positions, (long) bound - (long) positions * r + 1));
    }

    /** Compares the buffered (document, position) postings of ring {@code r}, in document order. */
    private void compareBuffered(int n, int r, SegmentCodes codes, Bits live, Bits filterBits, int docBase) throws IOException {
        Arrays.sort(buffer, 0, n);
        // The postings to compare, in place: one per document (a later position of the same
        // document is not where it is first found), live and accepted by the filter.
        int m = 0;
        int previous = -1;
        for (int i = 0; i < n; i++) {
            int doc = (int) (buffer[i] >>> 8);
            if (doc == previous) {
                continue;
            }
            previous = doc;
            if ((live != null && live.get(doc) == false) || (filterBits != null && filterBits.get(doc) == false)) {
                continue;
            }
            buffer[m++] = buffer[i];
        }
        candidates += m;
        CachedCodes arrays = codes instanceof CachedCodes cached ? cached : null;
        if (arrays != null) {
            // From the heap, every code of the buffer first, in a loop whose loads do not wait on each
            // other's (measured in-process on 1M codes: 64-68 ns a check against 86-122 one at a time).
            for (int j = 0; j < m; j++) {
                batchDocs[j] = (int) (buffer[j] >>> 8);
            }
            arrays.distances(batchDocs, m, code, batchDistances); // any number at once, unlike the columns
        }
        for (int j = 0; j < m; j++) {
            int doc = (int) (buffer[j] >>> 8);
            int bound = top.bound(limit);
            if (arrays != null && (batchDistances[j] == SegmentCodes.MISSING || batchDistances[j] > bound)) {
                continue;
            }
            // Within the bound (or from the columns, where a check stops at the bound): compared
            // once more, which also tells the discovery below which code it was.
            int distance = codes.distance(doc, code, bound);
            if (distance == SegmentCodes.MISSING || distance > bound) {
                continue;
            }
            if (codes.discovery(positions) != (r << 8 | (int) (buffer[j] & 0xFF))) {
                continue; // first found in an earlier ring, or through an earlier buffer of this ring
            }
            top.offer(distance, docBase + doc);
        }
    }

    private BytesRef term(int position, int value) {
        BytesRef bytes = terms[position];
        layout.setValue(bytes, value);
        return bytes;
    }

    // --- scans -----------------------------------------------------------------------------------

    /**
     * Part of a segment to scan: documents {@code [from, to)}, or with {@code shared} (a
     * partitioned segment) the {@code from}-th of {@code to} slices that take its groups in turn
     * ({@link CachedCodes#scanPartition}). A scan offers
     * every code within its bound, those the rings found before included: the merge leaves them
     * out (cheaper than asking of each code which ring would have found it).
     */
    private record Slice(LeafReaderContext leaf, int from, int to, CachedCodes.SharedScan shared, Bits accept) {}

    private record ScanResult(TopK top, long compared) {}

    /**
     * Queues the scan of a segment: through its groups around pivots where it has them, unless a
     * filter accepts so few documents ({@code candidateBound}) that checking each of them at random
     * costs less; otherwise in slices of documents. A filter's bits, where the rings made them,
     * are {@code filterBits}.
     */
    private void queueScan(LeafReaderContext leaf, FixedBitSet filterBits, long candidateBound) throws IOException {
        int maxDoc = leaf.reader().maxDoc();
        if (layout.open(leaf.reader(), codeCache) instanceof CachedCodes arrays && arrays.partition() != null
            && (filter == null || candidateBound > maxDoc / FILTERED_GROUP_SCAN)) {
            Bits accept = filter == null ? null : filterBits != null ? filterBits : filterBits(leaf);
            CachedCodes.SharedScan shared = new CachedCodes.SharedScan();
            for (int slice = 0; slice < PARALLELISM; slice++) {
                scans.add(new Slice(leaf, slice, PARALLELISM, shared, accept));
            }
            return;
        }
        for (int from = 0; from < maxDoc; from += sliceSize) {
            scans.add(new Slice(leaf, from, (int) Math.min(maxDoc, (long) from + sliceSize), null, null));
        }
    }

    private int runScans() throws IOException {
        if (scans.isEmpty()) {
            return 0;
        }
        int bound = top.bound(limit);
        List<Callable<ScanResult>> tasks = new ArrayList<>(scans.size());
        for (Slice slice : scans) {
            tasks.add(() -> scan(slice, bound));
        }
        long[] found = top.sorted(); // by the rings: the scans find them again
        for (ScanResult result : scanExecutor.invokeAll(tasks)) {
            top.addAllExcept(result.top(), found);
            candidates += result.compared();
        }
        return (int) scans.stream().map(Slice::leaf).distinct().count();
    }

    private ScanResult scan(Slice slice, int initialBound) throws IOException {
        LeafReader reader = slice.leaf().reader();
        Bits live = reader.getLiveDocs();
        SegmentCodes codes = layout.open(reader, codeCache);
        TopK local = new TopK(request.k());
        int docBase = slice.leaf().docBase;
        long compared = 0;
        if (slice.shared() != null && codes instanceof CachedCodes arrays && arrays.partition() != null) {
            compared = arrays.scanPartition(live, slice.accept(), code, local, slice.shared(), initialBound, docBase, checkCancelled);
            return new ScanResult(local, compared);
        }
        if (slice.shared() != null) {
            // Queued for a partition that this reading does not see (not expected): the first
            // slice scans the whole segment in document order, the others nothing.
            slice = new Slice(slice.leaf(), 0, slice.from() == 0 ? reader.maxDoc() : 0, null, null);
        }
        DocIdSetIterator docs = null;
        if (filter != null) {
            Scorer scorer = filter.scorer(slice.leaf());
            if (scorer == null) {
                return new ScanResult(local, 0);
            }
            docs = scorer.iterator();
        }
        if (docs == null && codes instanceof CachedCodes arrays) {
            // Every document of the slice, in order, from the cache's arrays: the scan's fast path.
            compared = arrays.scan(slice.from(), slice.to(), live, code, local, initialBound, docBase, BLOCKS_PER_CHECK,
                checkCancelled);
            return new ScanResult(local, compared);
        }
        int[] block = new int[SegmentCodes.BLOCK];
        int[] distances = new int[SegmentCodes.BLOCK];
        int doc = docs == null ? slice.from() : docs.advance(slice.from());
        int blocks = 0;
        while (doc < slice.to()) {
            if (blocks++ % BLOCKS_PER_CHECK == 0) {
                checkCancelled.run();
            }
            int n = 0;
            while (n < block.length && doc < slice.to()) {
                if (live == null || live.get(doc)) {
                    block[n++] = doc;
                }
                doc = docs == null ? doc + 1 : docs.nextDoc();
            }
            codes.distances(block, n, code, distances);
            compared += n;
            for (int j = 0; j < n; j++) {
                int distance = distances[j];
                if (distance != SegmentCodes.MISSING && distance <= local.bound(initialBound)) {
                    local.offer(distance, docBase + block[j]);
                }
            }
        }
        return new ScanResult(local, compared);
    }
}
