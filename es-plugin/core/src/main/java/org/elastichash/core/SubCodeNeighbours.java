package org.elastichash.core;

/**
 * The XOR masks that turn a 16-bit sub-code into its neighbours: {@code masks(r)} holds every
 * 16-bit value with exactly {@code r} bits set, so {@code value ^ mask} runs over the ring of
 * sub-codes at Hamming distance exactly {@code r} from {@code value}. Rings 0..16 hold 1, 16,
 * 120, 560, ... values; together they cover all 65,536.
 */
public final class SubCodeNeighbours {

    private static final int VALUES = 1 << HammingCodes.SUBCODE_BITS;

    private static final int[][] RINGS = new int[HammingCodes.SUBCODE_BITS + 1][];

    static {
        int[] sizes = new int[RINGS.length];
        for (int v = 0; v < VALUES; v++) {
            sizes[Integer.bitCount(v)]++;
        }
        for (int r = 0; r < RINGS.length; r++) {
            RINGS[r] = new int[sizes[r]];
            sizes[r] = 0;
        }
        for (int v = 0; v < VALUES; v++) {
            int r = Integer.bitCount(v);
            RINGS[r][sizes[r]++] = v;
        }
    }

    private SubCodeNeighbours() {}

    /** Every 16-bit mask with exactly {@code r} bits set, ascending. Do not modify. */
    static int[] masks(int r) {
        return RINGS[r];
    }

    /** How many sub-codes lie at distance exactly {@code r}: C(16, r). */
    public static int ringSize(int r) {
        return r < 0 || r > HammingCodes.SUBCODE_BITS ? 0 : RINGS[r].length;
    }

    /** The sub-codes at distance exactly {@code r} from {@code value}, ascending. */
    public static int[] ring(int value, int r) {
        int[] masks = RINGS[r];
        int[] values = new int[masks.length];
        for (int i = 0; i < masks.length; i++) {
            values[i] = value ^ masks[i];
        }
        java.util.Arrays.sort(values);
        return values;
    }
}
