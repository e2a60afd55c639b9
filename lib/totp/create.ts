import type { FastifyBaseLogger } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { credentialStoreMethods, type CredentialStore, type TotpStore } from '../store/credentials/types.js'
import { credentialStoreWithDeadline } from '../store/deadline.js'
import { MemoryCredentialStore } from '../store/credentials/memory.js'
import { RedisCredentialStore } from '../store/credentials/redis.js'
import { TotpService } from './service.js'

/** How an authenticator app counts: a second factor after the code (default), or another way to log in. */
export type TotpMode = 'second-factor' | 'alternative'

/** Authenticator apps, on when `totpEncryptionKey` is given. */
export interface TotpSettings {
  /** The 32-byte keys of `totpEncryptionKey`, newest first. */
  keys: Buffer[]
  issuer: string
  clock: () => number
  mode: TotpMode
}

/** A host's store: a `CredentialStore`, or a 0.1 `TotpStore` (given as the deprecated `totpStore`). */
export type HostCredentialStore = TotpStore & Partial<CredentialStore>

/** What createCredentials reads of the resolved options. */
export interface CredentialParts {
  totp: TotpSettings | undefined
  credentialStore: HostCredentialStore | undefined
  /** The `passkeys` option: passkeys live in the credential store too. */
  passkeys: unknown
  redis: Redis | Cluster | undefined
  keyPrefix: string
  storeTimeout: number
}

/** The credential store as the plugin uses it (under the store deadline), and what it lacks. */
export interface Credentials {
  store: CredentialStore
  /** The methods a 0.1 `totpStore` lacks: what needs them answers `501 OTP_STORE_UNSUPPORTED` or is skipped. */
  lacks: ReadonlySet<string>
  /** Authenticator apps; absent without `totpEncryptionKey`. */
  totp: TotpService | undefined
}

/**
 * The credential store when authenticators are on or one is given: the host's, else one on `redis`, else one in
 * this process. Its `init` runs here, once; a throw fails registration.
 */
export async function createCredentials (settings: CredentialParts, log: FastifyBaseLogger): Promise<Credentials | undefined> {
  if (settings.totp === undefined && settings.credentialStore === undefined && settings.passkeys === false) return undefined
  let given = settings.credentialStore
  if (given === undefined && settings.redis) {
    given = new RedisCredentialStore(settings.redis, { keyPrefix: settings.keyPrefix })
  } else if (given === undefined) {
    if (process.env.NODE_ENV === 'production') {
      log.warn('fastify-otp-login: no "redis" or "credentialStore" given, so authenticators live in this process (MemoryCredentialStore): every user loses theirs on restart')
    }
    given = new MemoryCredentialStore()
  }
  if (given.init !== undefined) await given.init(log)
  const lacks = new Set(credentialStoreMethods.filter((name) => typeof given[name] !== 'function'))
  const store = credentialStoreWithDeadline(complete(given, lacks), settings.storeTimeout, log)
  const totp = settings.totp && new TotpService({ ...settings.totp, store, lacks, log })
  return { store, lacks, totp }
}

/**
 * A 0.1 store with the methods it lacks filled in by ones that reject: the plugin checks `lacks` before it
 * needs one, so these only run in an undo, whose failure is logged.
 */
function complete (store: HostCredentialStore, lacks: ReadonlySet<string>): CredentialStore {
  if (lacks.size === 0) return store as CredentialStore
  const filled: Record<string, unknown> = {}
  for (const name of credentialStoreMethods) {
    const method = store[name] as ((...args: unknown[]) => Promise<unknown>) | undefined
    filled[name] = method === undefined
      ? async () => { throw new Error(`the credential store has no ${name} (a 0.1 totpStore)`) }
      : method.bind(store)
  }
  return filled as unknown as CredentialStore
}
