import type { FastifyBaseLogger } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { TotpStore } from '../store/credentials/types.js'
import { totpStoreWithDeadline } from '../store/deadline.js'
import { MemoryTotpStore } from '../store/credentials/memory.js'
import { RedisTotpStore } from '../store/credentials/redis.js'
import { TotpService } from './service.js'

/** How an authenticator app counts: a second factor after the code (default), or another way to log in. */
export type TotpMode = 'second-factor' | 'alternative'

/** Authenticator apps, on when `totpEncryptionKey` is given. */
export interface TotpSettings {
  /** The 32 bytes of `totpEncryptionKey`. */
  key: Buffer
  store: TotpStore | undefined
  issuer: string
  clock: () => number
  mode: TotpMode
}

/** What createTotp reads of the resolved options. */
export interface TotpParts {
  totp: TotpSettings | undefined
  redis: Redis | Cluster | undefined
  keyPrefix: string
  storeTimeout: number
}

/** Authenticator apps when `totpEncryptionKey` is given: on the host's `totpStore`, else beside the OTP state. */
export function createTotp (settings: TotpParts, log: FastifyBaseLogger): TotpService | undefined {
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
