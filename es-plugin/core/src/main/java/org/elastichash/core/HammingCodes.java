package org.elastichash.core;

/**
 * The bit logic of ElasticHash codes, free of any Elasticsearch type so it can be tested alone.
 *
 * <p>A code is a sequence of 64-bit words. Its text form is hex, 16 characters per word, the
 * first character holding the word's four most significant bits ("One code, one order" in
 * DESIGN.md): bit 0 of the code is the most significant bit of the first word. A word is
 * stored as a Java {@code long}, i.e. the two's complement reading of those 64 bits.
 */
public final class HammingCodes {

    /** Bits in one code word, and hex characters that spell it. */
    public static final int WORD_BITS = Long.SIZE;

    public static final int HEX_PER_WORD = WORD_BITS / 4;

    /** Bits in one multi-index-hashing sub-code, and sub-codes per word. */
    public static final int SUBCODE_BITS = 16;

    public static final int SUBCODES_PER_WORD = WORD_BITS / SUBCODE_BITS;

    private static final int SUBCODE_MASK = (1 << SUBCODE_BITS) - 1;

    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private HammingCodes() {}

    /**
     * Parses a hex code into words.
     *
     * @param hex the code, {@code 16 * words} characters of {@code [0-9a-fA-F]}
     * @param words how many 64-bit words the code must have
     * @throws IllegalArgumentException naming what is wrong with {@code hex}
     */
    public static long[] parseHex(String hex, int words) {
        if (words < 1) {
            throw new IllegalArgumentException("a code needs at least one 64-bit word, got " + words);
        }
        int expected = words * HEX_PER_WORD;
        if (hex == null) {
            throw new IllegalArgumentException("is missing; expected " + expected + " hex characters");
        }
        if (hex.length() != expected) {
            throw new IllegalArgumentException(
                "must be "
                    + expected
                    + " hex characters ("
                    + words * WORD_BITS
                    + " bits: "
                    + HEX_PER_WORD
                    + " per 64-bit word), got "
                    + hex.length()
            );
        }
        long[] result = new long[words];
        for (int w = 0; w < words; w++) {
            long word = 0;
            for (int i = w * HEX_PER_WORD; i < (w + 1) * HEX_PER_WORD; i++) {
                int nibble = hexValue(hex.charAt(i));
                if (nibble < 0) {
                    throw new IllegalArgumentException(
                        "is not hex: character '" + hex.charAt(i) + "' at position " + i
                    );
                }
                word = (word << 4) | nibble;
            }
            result[w] = word;
        }
        return result;
    }

    /** The value of an ASCII hex digit, or -1 (Character.digit would also take non-ASCII digits). */
    private static int hexValue(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** The hex form of {@code words}: lowercase, 16 characters per word. */
    public static String toHex(long[] words) {
        StringBuilder sb = new StringBuilder(words.length * HEX_PER_WORD);
        for (long word : words) {
            String digits = Long.toHexString(word);
            sb.append("0".repeat(HEX_PER_WORD - digits.length())).append(digits);
        }
        return sb.toString();
    }

    /** Hamming distance between two codes of equal length: the bits in which they differ. */
    public static int distance(long[] a, long[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("codes differ in length: " + a.length + " and " + b.length + " words");
        }
        int d = 0;
        for (int i = 0; i < a.length; i++) {
            d += Long.bitCount(a[i] ^ b[i]);
        }
        return d;
    }

    /** Hamming distance of one 64-bit word pair. */
    public static int distance(long a, long b) {
        return Long.bitCount(a ^ b);
    }

    /**
     * Sub-code {@code position} of a code: bits {@code 16p .. 16p+15}, i.e. the {@code p % 4}-th
     * 16-bit slice of word {@code p / 4}, counted from the most significant end.
     */
    public static int subCode(long[] words, int position) {
        return subCodeOf(words[position / SUBCODES_PER_WORD], position % SUBCODES_PER_WORD);
    }

    /** The {@code slice}-th 16-bit slice (0 = most significant) of one word. */
    public static int subCodeOf(long word, int slice) {
        return (int) (word >>> (WORD_BITS - SUBCODE_BITS * (slice + 1))) & SUBCODE_MASK;
    }

    /** All {@code 4 * words.length} sub-codes of a code, in position order. */
    public static int[] subCodes(long[] words) {
        int[] result = new int[words.length * SUBCODES_PER_WORD];
        for (int p = 0; p < result.length; p++) {
            result[p] = subCode(words, p);
        }
        return result;
    }

    /**
     * The indexed term of a sub-code: its position in hex, then its value as 4 lowercase hex
     * digits ({@code "0" + "0123"} for value 0x0123 at position 0). The value part has a fixed
     * width, so the term is unambiguous for any position.
     */
    public static String subCodeTerm(int position, int value) {
        StringBuilder sb = new StringBuilder(6).append(Integer.toHexString(position));
        for (int shift = SUBCODE_BITS - 4; shift >= 0; shift -= 4) {
            sb.append(HEX_DIGITS[(value >>> shift) & 0xF]);
        }
        return sb.toString();
    }
}
