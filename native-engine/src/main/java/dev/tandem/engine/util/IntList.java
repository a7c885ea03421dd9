package dev.tandem.engine.util;

import java.util.Arrays;

/** A growable list of primitive ints, for block tables and token buffers on hot paths. Not thread-safe. */
public final class IntList {

    private int[] items;
    private int size;

    public IntList() {
        this(8);
    }

    public IntList(int capacity) {
        items = new int[Math.max(1, capacity)];
    }

    public static IntList of(int[] values) {
        IntList l = new IntList(values.length + 16);
        System.arraycopy(values, 0, l.items, 0, values.length);
        l.size = values.length;
        return l;
    }

    public void add(int v) {
        if (size == items.length) {
            items = Arrays.copyOf(items, items.length * 2);
        }
        items[size++] = v;
    }

    public int get(int i) {
        if (i >= size) {
            throw new IndexOutOfBoundsException(i + " >= " + size);
        }
        return items[i];
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public void clear() {
        size = 0;
    }

    /** The backing array; valid up to {@link #size()} until the next add. */
    public int[] raw() {
        return items;
    }

    public int[] toArray() {
        return Arrays.copyOf(items, size);
    }

    public int[] copyRange(int from, int to) {
        return Arrays.copyOfRange(items, from, to);
    }
}
