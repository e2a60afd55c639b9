import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Cluster, Redis } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import { callbackWithin } from './deadline.js'
import { defineScripts, script } from './lua.js'

// One key, a fixed window, every request counted (the send budgets have budget.lua, which counts only sends made).
const countScript = { otpLoginCount: script('count', 1) }

type Count = (key: string, windowMs: number, cb: (err: Error | null, reply?: [number, number]) => void) => void
type Callback = Parameters<FastifyRateLimitStore['incr']>[1]

/**
 * A Redis store for @fastify/rate-limit that fails closed: when Redis cannot answer, the request gets
 * `503 OTP_STORE_UNAVAILABLE` instead of the raw driver error (or, as with `skipOnError`, no limit at all).
 * It counts with the same one-key script as the send budgets, and gives up after `timeoutMs` (`storeTimeout`).
 */
export function failClosedRateLimitStore (client: Redis | Cluster, keyPrefix: string, timeoutMs: number): FastifyRateLimitStoreCtor {
  defineScripts(client, countScript)
  const count = (client as unknown as { otpLoginCount: Count }).otpLoginCount.bind(client)

  const storeFor = (prefix: string): FastifyRateLimitStore => ({
    incr (key: string, cb: Callback, timeWindow: number): void {
      count(prefix + key, timeWindow, callbackWithin('rate limit count', timeoutMs, (err, reply) => {
        if (err || !reply) cb(new StoreUnavailableError({ cause: err ?? new Error('empty reply') }))
        else cb(null, { current: reply[0], ttl: reply[1] })
      }))
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
