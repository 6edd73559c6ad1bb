interface Slot<V> {
  readonly value: V;
  readonly cost: number;
  /** at is the count of moves to the newest end when this slot last made one. */
  at: number;
}

/**
 * RecentMap is a Map bounded by the total cost of its values (and, optionally, their count):
 * past either, the least recently used go first. A Map's order is its recency: a get moves
 * the value to the newest end only once it fell to the older half, so eviction still takes
 * values not used lately first, and a get of one used lately (most hits) writes nothing.
 */
export class RecentMap<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private used = 0;
  /** moves counts the values put or moved to the newest end. */
  private moves = 0;

  constructor(
    private readonly maxCost: number,
    private readonly maxCount = Infinity,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /** get is the value under `key`, counted as used. */
  get(key: string): V | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    if (this.moves - slot.at > this.slots.size >> 1) {
      this.slots.delete(key);
      this.slots.set(key, slot);
      slot.at = ++this.moves;
    }
    return slot.value;
  }

  /** set puts `value` under `key` at the newest end, then lets the oldest go while over a bound; false (nothing kept) when `cost` alone is over. */
  set(key: string, value: V, cost: number): boolean {
    this.delete(key);
    if (cost > this.maxCost) return false;
    this.slots.set(key, { value, cost, at: ++this.moves });
    this.used += cost;
    for (const k of this.slots.keys()) {
      if (this.used <= this.maxCost && this.slots.size <= this.maxCount) break;
      this.delete(k);
    }
    return true;
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (!slot) return false;
    this.slots.delete(key);
    this.used -= slot.cost;
    return true;
  }

  /** keys are the keys held, oldest first. */
  keys(): IterableIterator<string> {
    return this.slots.keys();
  }

  clear(): void {
    this.slots.clear();
    this.used = 0;
  }
}
