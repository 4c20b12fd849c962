// Objects numbered by identity (1, 2, 3, … in the order first seen), held weakly: a number names
// "this very window" or "this very inventory" in a cache key or a message to a thread without
// keeping the object alive.
export class ObjectNumbers {
  readonly #numbers = new WeakMap<object, number>();
  #next = 0;

  of(o: object): number {
    let n = this.#numbers.get(o);
    if (n === undefined) {
      n = ++this.#next;
      this.#numbers.set(o, n);
    }
    return n;
  }
}
