package org.elastichash.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.lucene.util.Version;
import org.elastichash.core.HammingSearch;
import org.junit.jupiter.api.Test;

/**
 * The core's and the glue's tests run in this module beside this one. They prove something about
 * Elasticsearch 8 only if they ran on its Lucene 9, with the core compiled here against it, not
 * picked up from the Elasticsearch 9 build's jar.
 */
class LuceneOfElasticsearch8Test {

    @Test
    void theTestsRunOnTheLuceneThatElasticsearch8Ships() {
        String expected = System.getProperty("expected.lucene.version");
        assertEquals(expected, Version.LATEST.toString(), "the Lucene on the test class path");
        assertEquals(9, Version.LATEST.major, "Elasticsearch 8 ships Lucene 9");
        String luceneJar = Version.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(luceneJar.endsWith("lucene-core-" + expected + ".jar"), luceneJar);
        String core = HammingSearch.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(core.endsWith("/elasticsearch8/target/classes/"), core);
    }

    @Test
    void theLuceneVersionIsTheOneElasticsearchWasBuiltWith() {
        assertEquals(org.elasticsearch.index.IndexVersion.current().luceneVersion(), Version.LATEST);
    }
}
