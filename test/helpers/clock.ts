import type { Cluster, Redis } from 'ioredis'

/** Time as a test tells it and moves it, instead of sleeping: tests that sleep break on a busy machine. */
export interface TestClock {
  now: () => number
  /** Lets `ms` pass for the store under test, at once. */
  advance: (ms: number) => Promise<void>
}

/** A store (or anything else that keeps time) with the clock that moves it. */
export interface Timed<S> {
  store: S
  clock: TestClock
}

/** A clock that stands still until told to move: give its `now` to a MemoryStore, a MemoryTotpStore or an app. */
export function manualClock (start = 1_900_000_000_000): TestClock {
  let now = start
  return {
    now: () => now,
    advance: async (ms) => { now += ms }
  }
}

/**
 * `ms` passing on a Redis store: every key's TTL is shortened by `ms`, and the keys whose TTL that ends are
 * deleted, as Redis would on its own `ms` later; keys without a TTL stay. The store scripts know time only
 * through TTLs (and the `now` they are given), so to them this is `ms` passing. Real time runs on meanwhile,
 * some milliseconds a test: tests keep a wide gap between a TTL and the time they let pass.
 */
export function redisClock (client: Redis | Cluster): TestClock {
  let offset = 0
  // A Cluster's keys are on its masters, each of which moves its own.
  const nodes = (): Redis[] => client.isCluster ? (client as Cluster).nodes('master') : [client as Redis]
  return {
    now: () => Date.now() + offset,
    advance: async (ms) => {
      offset += ms
      for (const node of nodes()) {
        const keys = await node.keys('*')
        if (keys.length === 0) continue
        const ttls = await Promise.all(keys.map((key) => node.pttl(key)))
        const shift = node.pipeline()
        keys.forEach((key, i) => {
          const ttl = ttls[i] ?? -2
          // -1: no TTL, it never ends; -2: gone already.
          if (ttl < 0) return
          if (ttl <= ms) shift.del(key)
          else shift.pexpire(key, ttl - ms)
        })
        await shift.exec()
      }
    }
  }
}
