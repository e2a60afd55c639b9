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

// Every key's TTL shortened by ARGV[1] ms; the keys whose TTL that ends deleted; keys without a TTL untouched.
const shiftTtls = `
for _, key in ipairs(redis.call('KEYS', '*')) do
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 then
    if ttl <= tonumber(ARGV[1]) then redis.call('DEL', key) else redis.call('PEXPIRE', key, ttl - tonumber(ARGV[1])) end
  end
end
return 0`

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
      // One script per node: a Cluster's thousands of credential markers (no TTL) cost one round trip, not one each.
      await Promise.all(nodes().map(async (node) => await node.eval(shiftTtls, 0, ms)))
    }
  }
}
