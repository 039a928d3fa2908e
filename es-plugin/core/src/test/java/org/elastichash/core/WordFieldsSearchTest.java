package org.elastichash.core;

/** Every search test of {@link HammingSearchTest} on the earlier layout: long words and hex sub-code terms. */
class WordFieldsSearchTest extends HammingSearchTest {

    @Override
    CodeLayout layout() {
        return CodeIndex.WORDS_LAYOUT;
    }
}
