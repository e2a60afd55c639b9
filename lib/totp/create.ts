import type { FastifyBaseLogger } from 'fastify'
import type { ResolvedOptions } from '../options.js'
import { totpStoreWithDeadline } from '../store/deadline.js'
import { MemoryTotpStore } from '../store/credentials/memory.js'
import { RedisTotpStore } from '../store/credentials/redis.js'
import { TotpService } from './service.js'

/** Authenticator apps when `totpEncryptionKey` is given: on the host's `totpStore`, else beside the OTP state. */
export function createTotp (settings: Pick<ResolvedOptions, 'totp' | 'redis' | 'keyPrefix' | 'storeTimeout'>, log: FastifyBaseLogger): TotpService | undefined {
  if (settings.totp === undefined) return undefined
  let store = settings.totp.store
  if (store === undefined && settings.redis) {
    store = new RedisTotpStore({ client: settings.redis, keyPrefix: settings.keyPrefix })
  } else if (store === undefined) {
    if (process.env.NODE_ENV === 'production') {
      log.warn('fastify-otp-login: no "redis" or "totpStore" given, so authenticators live in this process (MemoryTotpStore): every user loses theirs on restart')
    }
    store = new MemoryTotpStore()
  }
  return new TotpService({ ...settings.totp, store: totpStoreWithDeadline(store, settings.storeTimeout) })
}
