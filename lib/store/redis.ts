import type { Cluster, Redis } from 'ioredis'
import { RedisCodeStore } from './codes/redis.js'
import { CombinedStore } from './combined.js'
import { RedisSessionStore } from './sessions/redis.js'

export interface RedisStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
  /**
   * A pub/sub channel on which the session scripts announce the ids of the sessions they end (space-separated),
   * in the same round trip; the plugin's session cache listens there. None by default.
   */
  endedChannel?: string
}

/**
 * Keeps OTP state in Redis: codes and counters in a `RedisCodeStore`, sessions in a `RedisSessionStore`, on one
 * client and key prefix. Each operation is one Lua script (one round trip), defined once per client with
 * `defineCommand`; every key gets its TTL inside the script. All keys of one identifier share the hash tag
 * `{identifier}`, and all keys of one user's sessions the hash tag `{u:userKey}`, so every script touches one
 * slot and runs on Redis Cluster too.
 */
export class RedisStore extends CombinedStore<RedisCodeStore, RedisSessionStore> {
  constructor ({ client, keyPrefix = 'otp:', endedChannel = '' }: RedisStoreOptions) {
    super(new RedisCodeStore({ client, keyPrefix }), new RedisSessionStore({ client, keyPrefix, endedChannel }))
  }
}
