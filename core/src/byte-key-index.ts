// A hash index from byte strings to dense ids (0, 1, 2, … in insertion order), looked up straight
// from a slice of a larger buffer, with a fixed-size payload stored right after each key. It exists
// for the flow reader's hot path, which is bound by memory latency, not by the CPU: a JS Map would
// need a fresh string per lookup (decode, hash, garbage) and the aggregate would sit in yet another
// object elsewhere in the heap. Here a hit touches one slot and one contiguous key+payload record.
// Open addressing with linear probing; slots hold the full hash next to the record's offset so that
// most probes never touch the key bytes.

/** FNV-1a 32-bit offset basis and prime. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;

/** Mixed into the other lanes' starts, so that the lanes differ from the first word on. */
const SECOND_LANE = 0x5bd1e995;
const THIRD_LANE = 0x27d4eb2f;
const FOURTH_LANE = 0x165667b1;

/** Records start on 8-byte boundaries, so that a payload can hold float64 values. */
const ALIGN = 8;

export interface ByteKeyIndexState {
  slots: Int32Array<ArrayBuffer>;
  records: Int32Array<ArrayBuffer>;
  arena: Uint8Array<ArrayBuffer>;
  arenaLength: number;
  size: number;
  payloadBytes: number;
  seed: number;
}

export class ByteKeyIndex {
  /** Pairs (hash, id + 1); id + 1 = 0 marks an empty slot. Capacity is a power of two, load ≤ 1/2. */
  #slots: Int32Array<ArrayBuffer> = new Int32Array(2 * 1024);
  #mask = 1023;
  /** Per id: offset of its record in `#arena` (key bytes, padding, payload) and the key's length. */
  #records: Int32Array<ArrayBuffer> = new Int32Array(2 * 256);
  #arena: Uint8Array<ArrayBuffer>;
  #arenaLength = 0;
  #size = 0;
  readonly #payloadBytes: number;
  /**
   * Mixed into every hash, different per index: keys come from observed traffic (pod names,
   * server names), and a fixed hash would let someone who names pods make every key collide and
   * every lookup scan them all. Ids and their order do not depend on it.
   */
  readonly #seed: number;

  /** `payloadBytes` (a multiple of 8) are kept per key, zero-filled at insertion. */
  constructor(payloadBytes = 0, seed = (Math.random() * 0x100000000) | 0) {
    this.#seed = seed;
    if (payloadBytes % ALIGN !== 0)
      throw new Error(`payload size ${payloadBytes} is not a multiple of ${ALIGN}`);
    this.#payloadBytes = payloadBytes;
    this.#arena = new Uint8Array(64 * 1024);
  }

  /**
   * Everything the index holds, as typed arrays and numbers: what a worker thread posts (the
   * buffers can be transferred, not copied) for `ByteKeyIndex.fromState` to take over as is.
   */
  state(): ByteKeyIndexState {
    return {
      slots: this.#slots,
      records: this.#records,
      arena: this.#arena,
      arenaLength: this.#arenaLength,
      size: this.#size,
      payloadBytes: this.#payloadBytes,
      seed: this.#seed,
    };
  }

  static fromState(state: ByteKeyIndexState): ByteKeyIndex {
    const index = new ByteKeyIndex(state.payloadBytes, state.seed);
    index.#slots = state.slots;
    index.#mask = state.slots.length / 2 - 1;
    index.#records = state.records;
    index.#arena = state.arena;
    index.#arenaLength = state.arenaLength;
    index.#size = state.size;
    return index;
  }

  /** The key of `id` (its bytes). */
  key(id: number): Uint8Array {
    const offset = this.#records[2 * id]!;
    return this.#arena.subarray(offset, offset + this.#records[2 * id + 1]!);
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The bytes holding every record. Replaced when the index grows: read it again after `insert`.
   * A payload is `arena[payloadOffset(id), payloadOffset(id) + payloadBytes)`.
   */
  get arena(): Uint8Array<ArrayBuffer> {
    return this.#arena;
  }

  /** Where id's payload starts in `arena` (a multiple of 8). */
  payloadOffset(id: number): number {
    return this.#records[2 * id]! + alignUp(this.#records[2 * id + 1]!);
  }

  /** The id of the key `bytes[start, end)`, or -1. */
  find(bytes: Uint8Array, start: number, end: number): number {
    const hash = this.#hash(bytes, start, end);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const id = slots[2 * p + 1]! - 1;
      if (id < 0) return -1;
      if (slots[2 * p] === hash && this.#equals(id, bytes, start, end)) return id;
    }
  }

  /** Adds the key `bytes[start, end)`, which must not be present, and returns its id. */
  insert(bytes: Uint8Array, start: number, end: number): number {
    const id = this.#size;
    const length = end - start;
    const recordLength = alignUp(length) + this.#payloadBytes;
    if (2 * id + 2 > this.#records.length) this.#records = grown(this.#records, this.#records.length * 2);
    if (this.#arenaLength + recordLength > this.#arena.length)
      this.#arena = grown(
        this.#arena,
        alignUp(Math.max(this.#arena.length * 2, this.#arenaLength + recordLength)),
      );
    this.#arena.set(bytes.subarray(start, end), this.#arenaLength);
    this.#records[2 * id] = this.#arenaLength;
    this.#records[2 * id + 1] = length;
    this.#arenaLength += recordLength;
    this.#size += 1;
    if (2 * this.#size > this.#mask + 1) this.#rehash();
    this.#place(this.#hash(bytes, start, end), id);
    return id;
  }

  #hash(bytes: Uint8Array, start: number, end: number): number {
    // FNV-1a over 32-bit words read through a DataView (one load each, not four), in four lanes
    // that do not wait on each other (a multiply's latency bounds each lane: keys run to 250
    // bytes), then two lanes over the next eight bytes and one over the last 0-7; a final mix
    // spreads the high bits into the low ones the table indexes by.
    const view = this.#viewOf(bytes);
    let a = FNV_OFFSET ^ this.#seed;
    let b = a ^ SECOND_LANE;
    let c = a ^ THIRD_LANE;
    let d = a ^ FOURTH_LANE;
    let i = start;
    for (; i + 16 <= end; i += 16) {
      a = Math.imul(a ^ view.getInt32(i, true), FNV_PRIME);
      b = Math.imul(b ^ view.getInt32(i + 4, true), FNV_PRIME);
      c = Math.imul(c ^ view.getInt32(i + 8, true), FNV_PRIME);
      d = Math.imul(d ^ view.getInt32(i + 12, true), FNV_PRIME);
    }
    if (i + 8 <= end) {
      a = Math.imul(a ^ view.getInt32(i, true), FNV_PRIME);
      b = Math.imul(b ^ view.getInt32(i + 4, true), FNV_PRIME);
      i += 8;
    }
    for (; i < end; i++) a = Math.imul(a ^ bytes[i]!, FNV_PRIME);
    let h = a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca77) ^ Math.imul(d, 0xc2b2ae3d);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return h ^ (h >>> 13);
  }

  #equals(id: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (this.#records[2 * id + 1] !== end - start) return false;
    // Eight bytes at a time through DataViews (which the JIT turns into plain loads): a hit
    // compares the whole key, and keys are 130 to 250 bytes. Equal doubles other than zero are
    // equal bytes; zero (+0 equals -0) and unequal doubles (NaN is unequal to itself) are looked
    // at again four bytes at a time.
    const arena = this.#arenaView();
    const view = this.#viewOf(bytes);
    const offset = this.#records[2 * id]! - start;
    let i = start;
    for (; i + 8 <= end; i += 8) {
      const stored = arena.getFloat64(offset + i, true);
      if (stored !== view.getFloat64(i, true) || stored === 0) {
        if (arena.getInt32(offset + i, true) !== view.getInt32(i, true)) return false;
        if (arena.getInt32(offset + i + 4, true) !== view.getInt32(i + 4, true)) return false;
      }
    }
    for (; i < end; i++) if (arena.getUint8(offset + i) !== view.getUint8(i)) return false;
    return true;
  }

  #arenaViewOf: DataView | undefined;
  #lastBytes: Uint8Array | undefined;
  #lastView: DataView | undefined;

  #arenaView(): DataView {
    let view = this.#arenaViewOf;
    if (view === undefined || view.buffer !== this.#arena.buffer) {
      view = new DataView(this.#arena.buffer);
      this.#arenaViewOf = view;
    }
    return view;
  }

  /** A view of `bytes` (the reader passes the same chunk for thousands of lines in a row). */
  #viewOf(bytes: Uint8Array): DataView {
    if (bytes !== this.#lastBytes) {
      this.#lastBytes = bytes;
      this.#lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.#lastView!;
  }

  #place(hash: number, id: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let p = hash & mask;
    while (slots[2 * p + 1] !== 0) p = (p + 1) & mask;
    slots[2 * p] = hash;
    slots[2 * p + 1] = id + 1;
  }

  /** Doubles the slots, moving each entry by the full hash it keeps: no key is read or hashed again. */
  #rehash(): void {
    const old = this.#slots;
    const capacity = 2 * (this.#mask + 1);
    this.#slots = new Int32Array(2 * capacity);
    this.#mask = capacity - 1;
    for (let p = 0; p < old.length; p += 2) if (old[p + 1] !== 0) this.#place(old[p]!, old[p + 1]! - 1);
  }
}

function alignUp(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

function grown<T extends Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(array: T, length: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(length);
  bigger.set(array);
  return bigger;
}
