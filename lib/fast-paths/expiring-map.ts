// Not a fast path of its own: the bounded map that the two caches here (session-cache.ts, verified-tokens.ts)
// keep their entries in, so that a fast path never costs memory without bound.
/**
 * A Map whose entries each last until a given time, holding at most `max` of them: the oldest set goes first.
 * The plugin's per-instance caches (live sessions, accepted access tokens) are built on it, so memory stays
 * bounded whatever the traffic.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V, until: number }>()

  constructor (private readonly max: number, private readonly now: () => number = Date.now) {}

  get size (): number {
    return this.entries.size
  }

  /** The value of a live entry; an expired one is dropped on the way. */
  get (key: string): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (this.now() < entry.until) return entry.value
    this.entries.delete(key)
    return undefined
  }

  /** Sets `key` until `until` (ms since the epoch), as the newest entry; drops the oldest beyond `max`. */
  set (key: string, value: V, until: number): void {
    this.entries.delete(key) // re-inserted at the end: a Map keeps insertion order, so the first one is the oldest
    this.entries.set(key, { value, until })
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  delete (key: string): void {
    this.entries.delete(key)
  }

  clear (): void {
    this.entries.clear()
  }
}
