package org.elastichash.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.lucene.util.Version;
import org.elastichash.core.HammingSearch;
import org.junit.jupiter.api.Test;

/**
 * The core is compiled once, against the Lucene of Elasticsearch (lucene.version); OpenSearch ships
 * its own release (opensearch.lucene.version). This module's tests, and the core's own test suite
 * run beside them (surefire's dependenciesToScan), must run on OpenSearch's: otherwise they would
 * not show that the core's class files link and behave there.
 */
class LuceneOfOpenSearchTest {

    @Test
    void theCoreRunsOnTheLuceneThatOpenSearchShips() {
        String expected = System.getProperty("expected.lucene.version");
        assertEquals(expected, Version.LATEST.toString(), "the Lucene on the test class path");
        String luceneJar = Version.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(luceneJar.endsWith("lucene-core-" + expected + ".jar"), luceneJar);
        // The core's classes come from its jar, compiled against another Lucene, not from this module.
        String coreJar = HammingSearch.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(coreJar.contains("elastichash-core") || coreJar.contains("/core/target/classes"), coreJar);
    }
}
