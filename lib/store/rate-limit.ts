import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Cluster, Redis } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'

// A fixed window per key, counted and given its TTL in one script.
const lua = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`

type Incr = (key: string, timeWindow: number, cb: (err: Error | null, reply?: [number, number]) => void) => void
type Callback = Parameters<FastifyRateLimitStore['incr']>[1]

/**
 * A Redis store for @fastify/rate-limit that fails closed: when Redis cannot answer, the request gets
 * `503 OTP_STORE_UNAVAILABLE` instead of the raw driver error (or, as with `skipOnError`, no limit at all).
 */
export function failClosedRateLimitStore (client: Redis | Cluster, keyPrefix: string): FastifyRateLimitStoreCtor {
  if (typeof (client as unknown as Record<string, unknown>).otpLoginRateLimit !== 'function') {
    client.defineCommand('otpLoginRateLimit', { numberOfKeys: 1, lua })
  }
  const incr = (client as unknown as { otpLoginRateLimit: Incr }).otpLoginRateLimit.bind(client)

  const storeFor = (prefix: string): FastifyRateLimitStore => ({
    incr (key: string, cb: Callback, timeWindow: number): void {
      incr(prefix + key, timeWindow, (err, reply) => {
        if (err || !reply) cb(new StoreUnavailableError({ cause: err ?? new Error('empty reply') }))
        else cb(null, { current: reply[0], ttl: reply[1] })
      })
    },
    child (route): FastifyRateLimitStore {
      // At run time @fastify/rate-limit passes the merged route limits with `routeInfo`, not what its types say.
      const { method, url } = (route as unknown as { routeInfo: { method: string, url: string } }).routeInfo
      return storeFor(`${prefix}${method}${url}:`)
    }
  })

  return class RateLimitStore {
    constructor () {
      return storeFor(`${keyPrefix}rl:`)
    }
  } as unknown as FastifyRateLimitStoreCtor
}
