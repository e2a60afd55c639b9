// Fast path: app.authenticate trusts a session this instance saw live in the last second, while the pub/sub
// channel that announces ended sessions is subscribed, instead of asking Redis on every request.
// Pays: GET /me on RedisStore made 1.00 Redis round trip and 36 µs of Redis CPU per request without it
// (bench/results.md of 2026-11-25), 0.00 and 0 with it (2026-11-29); the bench's "sessionCache: false" row
// measures both in one run. The plain path, `store.isSessionLive` in lib/tokens.ts, still answers on the
// MemoryStore, a custom store, with `sessionCache: false`, while the channel is down, and after an entry's `ttl`.
import type { Cluster, Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { ExpiringMap } from './expiring-map.js'

export interface SessionCacheOptions {
  /** Sessions remembered as live, at most; the oldest go first. Default 10 000 (about 1 MB). */
  max?: number
  /** Milliseconds a session is taken as live without asking the store again. Default 1000. */
  ttl?: number
}

/**
 * The sessions this instance saw live in the last `ttl` ms, so `app.authenticate` need not ask Redis on every
 * request. Trusted only while the invalidation channel is subscribed: a session that ends on any instance is
 * dropped from every instance's cache at once, and while the channel is down (or resubscribing, when messages
 * may have been missed) every check goes to the store. `ttl` bounds what the channel cannot tell: a store that
 * lost its data without closing the connection (FLUSHALL).
 */
export class LiveSessionCache {
  private readonly entries: ExpiringMap<true>
  private readonly ttl: number
  /** False until the channel is subscribed, and whenever it is down. */
  trusted = false
  /**
   * Counts invalidations: a check that read "live" from the store before a session ended must not cache that
   * answer after the end was heard. `add` is given the version from before its read.
   */
  version = 0

  constructor ({ max = 10_000, ttl = 1000 }: SessionCacheOptions, private readonly now: () => number = Date.now) {
    this.entries = new ExpiringMap(max, now)
    this.ttl = ttl
  }

  get size (): number {
    return this.entries.size
  }

  has (key: string): boolean {
    return this.trusted && this.entries.get(key) === true
  }

  /** Remembers a session the store said is live, unless anything was invalidated since `version` was read. */
  add (key: string, version: number): void {
    if (!this.trusted || version !== this.version) return
    this.entries.set(key, true, this.now() + this.ttl)
  }

  drop (key: string): void {
    this.version++
    this.entries.delete(key)
  }

  /** Stops trusting the cache (the channel went down) and forgets everything in it. */
  distrust (): void {
    this.version++
    this.trusted = false
    this.entries.clear()
  }
}

/** How long close() waits for the subscriber's connection to end before it returns anyway. */
const endWaitMs = 1000

export interface InvalidationChannel {
  close: () => Promise<void>
}

/**
 * Listens for ended sessions on Redis pub/sub, on a connection of its own (a subscribed connection can do
 * nothing else). The RedisStore's session scripts publish there in the same round trip that ends a session;
 * plain PUBLISH reaches every node of a Cluster, so it works there too. The cache is trusted only between a
 * confirmed SUBSCRIBE and the next sign of trouble on that connection.
 */
export function invalidationChannel (client: Redis | Cluster, channel: string, cache: LiveSessionCache, log: FastifyBaseLogger): InvalidationChannel {
  const subscriber = client.duplicate()
  let closing = false
  subscriber.on('error', (err: Error) => {
    // A close while connecting fails the connection's first commands: expected, so not worth a warning.
    if (closing) log.debug({ err: err.message }, 'fastify-otp-login: session invalidation channel error while closing')
    else log.warn({ err: err.message }, 'fastify-otp-login: session invalidation channel error; checking sessions in the store meanwhile')
  })
  for (const event of ['close', 'end', 'reconnecting', 'error', '+node', '-node', 'node error']) {
    subscriber.on(event, () => { cache.distrust() })
  }
  const subscribe = (): void => {
    if (closing) return
    cache.distrust()
    subscriber.subscribe(channel).then(() => {
      // Whatever ended while unsubscribed was missed: start empty, then trust.
      if (!closing) {
        cache.distrust()
        cache.trusted = true
      }
    }, () => { cache.distrust() })
  }
  subscriber.on('ready', subscribe)
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return
    for (const key of message.split(' ')) cache.drop(key)
  })
  const status = (subscriber as { status?: string }).status
  if (status === 'ready') subscribe()
  // A duplicate of a `lazyConnect` client waits for a first command, which a subscriber never sends on its own.
  else if (status === 'wait') subscriber.connect().catch(() => { cache.distrust() })

  return {
    close: async () => {
      closing = true
      cache.distrust()
      if (subscriber.status === 'end') return
      // The app's close waits for the connection's end, so nothing of it (an error, a log line) comes after.
      const ended = new Promise<void>((resolve) => {
        const bound = setTimeout(resolve, endWaitMs)
        bound.unref()
        subscriber.once('end', () => { clearTimeout(bound); resolve() })
      })
      subscriber.disconnect()
      await ended
    }
  }
}
