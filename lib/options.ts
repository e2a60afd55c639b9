import { randomBytes } from 'node:crypto'
import type { FastifyJWTOptions } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { CountryCode } from 'libphonenumber-js/max'
import { deprecations } from './deprecations.js'
import type { OtpEventHandler } from './events.js'
import type { Channel, IdentifierKind } from './identity.js'
import {
  checkOptionValues, optionsSchema, seconds, testIdentityKey, type CaptchaOptions, type CookieOptions,
  type FindOrCreateUser, type LinkIdentifier, type OptionsInput, type PasskeysOptions, type RouteRateLimit
} from './options-schema.js'
import { describe } from './schema-check.js'
import type { SendFn } from './senders/delivery.js'
import type { TotpStore } from './store/credentials/types.js'
import type { OtpStore } from './store/types.js'
import type { HostCredentialStore, TotpMode, TotpSettings } from './totp/create.js'
import { parseEncryptionKeys } from './totp/keys.js'
import { resolveCookie, type ResolvedCookie } from './cookie-names.js'

export type { Channel, IdentifierKind }
export type { SendArgs, SendFn } from './senders/delivery.js'
export type {
  CaptchaOptions, CookieOptions, FindOrCreateUser, FindOrCreateUserArgs, LinkIdentifier, LinkIdentifierArgs, OtpUserRecord, PasskeysOptions, RateLimitOptions, RouteRateLimit,
  TrustedDevicesOptions
} from './options-schema.js'
export type { TotpMode, TotpSettings }
export type { ResolvedCookie }

/** The plugin's options, as lib/options-schema.ts describes them. */
export type OtpLoginOptions = Omit<OptionsInput, 'channels' | 'totpStore'> & {
  /** @deprecated Renamed `identifierKinds`; goes in 0.3. */
  channels?: readonly IdentifierKind[]
  /** @deprecated Renamed `credentialStore` (FOTPDEP003); goes in 0.3. */
  totpStore?: TotpStore
}

/** The check `/login` runs on a captcha token; lib/captcha.ts builds it from the `captcha` option. */
export type CaptchaCheck = (token: string | undefined, request: FastifyRequest) => Promise<void>

/** The options after defaults: every value present and checked. Durations in seconds. */
export interface ResolvedOptions {
  prefix: string
  identifierKinds: ReadonlySet<IdentifierKind>
  send: SendFn
  redis: Redis | Cluster | undefined
  store: OtpStore | undefined
  keyPrefix: string
  codeSecret: string
  jwt: FastifyJWTOptions | undefined
  accessTokenTtl: number
  /** Seconds, or false: no refresh tokens, no /refresh and /logout, no revocation check in `authenticate`. */
  refreshTokenTtl: number | false
  /** Seconds after a refresh during which the token it spent may come back once; 0: never. */
  refreshGrace: number
  codeLength: number
  codeTtl: number
  maxSends: number
  /** Codes per identifier per `lockout` window, its own and its devices' together. */
  maxSendsPerIdentifier: number
  lockout: number
  resendInterval: number
  maxAttempts: number
  maxFailures: number
  defaultCountry: CountryCode | undefined
  allowedCountries: ReadonlySet<CountryCode> | undefined
  findOrCreateUser: FindOrCreateUser
  rateLimit: { login: RouteRateLimit, verify: RouteRateLimit, refresh: RouteRateLimit, account: RouteRateLimit } | false
  /** Normalised identifier (E.164 or lower-cased e-mail) → its fixed code. */
  testIdentities: ReadonlyMap<string, string>
  /** Country calling code (or `'*'`) → codes per hour. */
  smsBudget: ReadonlyMap<string, number> | undefined
  onEvent: OtpEventHandler | undefined
  /** Milliseconds. */
  sendTimeout: number
  /** Milliseconds a store call may take before the request ends in 503. */
  storeTimeout: number
  totp: TotpSettings | undefined
  /** The host's `credentialStore` (or deprecated `totpStore`), if given. */
  credentialStore: HostCredentialStore | undefined
  /** Seconds. */
  freshAuthAge: number
  /** Turns the /identifiers routes on. */
  linkIdentifier: LinkIdentifier | undefined
  endSessionsOnIdentifierChange: 'others' | 'all' | 'none'
  maxSessions: number
  /** Seconds a device token lives, or false: no trusted devices. */
  trustedDevices: { ttl: number } | false
  cookie: ResolvedCookie | false
  /** Origins allowed on the cookie-reading routes; undefined: the request's own host only. */
  allowedOrigins: ReadonlySet<string> | undefined
  captcha: { check: CaptchaCheck, skipTrustedDevices: boolean } | undefined
  /** With `redis` (and sessions): entries and milliseconds of the live-session cache, or false. */
  sessionCache: { max: number, ttl: number } | false
  /** WebAuthn's relying party and the page origins, or false: no passkey routes. */
  passkeys: PasskeysOptions | false
}

/** What `ensureDefaults` gives: the resolved options, the captcha still as options for lib/index.ts to build. */
export type ResolvedValues = Omit<ResolvedOptions, 'captcha'> & {
  captcha: { options: CaptchaOptions, skipTrustedDevices: boolean } | undefined
}

class OptionError extends Error {
  constructor (name: string, rule: string, value: unknown, shown = describe(value)) {
    super(`fastify-otp-login: option "${name}" ${rule} (got ${shown})`)
    this.name = 'OtpLoginOptionError'
  }
}

/** Throws an error naming the first option that is wrong. Reads, never changes, `opts`. */
export function checkOptions (opts: unknown): asserts opts is OtpLoginOptions {
  checkCombinations(checkOptionValues(withoutFastifyKeys(opts)))
}

// Fastify passes these to every plugin.
function withoutFastifyKeys (opts: unknown): unknown {
  if (typeof opts !== 'object' || opts === null) return opts
  const { logLevel, logSerializers, ...own } = opts as Record<string, unknown>
  return own
}

/** The rules that tie two options together; every option is already valid on its own. */
function checkCombinations (o: OptionsInput): void {
  if (o.codeSecret === undefined && (o.redis !== undefined || o.store !== undefined)) {
    throw new OptionError('codeSecret', 'is required with "redis" or "store", so every instance hashes codes alike', undefined)
  }
  if (o.channels !== undefined && o.identifierKinds !== undefined) {
    throw new OptionError('channels', 'is the old name of "identifierKinds": give only "identifierKinds"', o.channels)
  }
  if (o.testIdentities !== undefined) {
    if (process.env.NODE_ENV === 'production' && o.allowTestIdentitiesInProduction !== true) {
      throw new Error('fastify-otp-login: option "testIdentities" is refused when NODE_ENV=production; ' +
        'set "allowTestIdentitiesInProduction: true" if you really want fixed codes in production')
    }
    const length = o.codeLength ?? fallback('codeLength')
    for (const [identifier, code] of Object.entries(o.testIdentities)) {
      // Shown as its length only: it is a working code.
      if (typeof code !== 'string' || !new RegExp(`^[0-9]{${length}}$`).test(code)) {
        throw new OptionError(`testIdentities["${identifier}"]`, `must be a string of codeLength (${length}) digits`, code, typeof code === 'string' ? `${code.length} characters` : typeof code)
      }
    }
  }
  if (o.totpStore !== undefined && o.credentialStore !== undefined) {
    throw new OptionError('totpStore', 'is the old name of "credentialStore": give only "credentialStore"', o.totpStore, 'both')
  }
  if (o.totpEncryptionKey === undefined) {
    for (const name of ['totpStore', 'totpIssuer', 'totpClock', 'totpMode'] as const) {
      if (o[name] !== undefined) throw new OptionError(name, 'needs "totpEncryptionKey": authenticator apps are on only with it', o[name])
    }
  } else if (o.totpStore === undefined && o.credentialStore === undefined && o.store !== undefined && o.redis === undefined) {
    throw new OptionError('credentialStore', 'is required with "store" and no "redis": authenticators must outlive the process', undefined)
  }
  if (o.cookie !== undefined && o.cookie !== false && o.cookie.sameSite === 'none' && o.cookie.secure === false) {
    throw new OptionError('cookie.secure', "must be true with sameSite 'none' (browsers refuse such cookies otherwise)", false)
  }
  const maxSends = o.maxSends ?? fallback('maxSends')
  if (o.maxSendsPerIdentifier !== undefined && o.maxSendsPerIdentifier < maxSends) {
    throw new OptionError('maxSendsPerIdentifier', `must be at least maxSends (${maxSends}): it bounds the identifier's own sends and its devices' together`, o.maxSendsPerIdentifier)
  }
  if (o.cookie !== undefined && o.cookie !== false && o.cookie.name !== undefined) checkCookiePrefix(o.cookie)
  if (o.allowedOrigins !== undefined && (o.cookie === undefined || o.cookie === false)) {
    throw new OptionError('allowedOrigins', 'needs "cookie": it guards the routes that read the session cookie', o.allowedOrigins)
  }
}

// Browsers refuse a `__Host-` cookie that is not Secure, host-only and at `/`, and a `__Secure-` one that is not
// Secure (the prefixes are matched without regard to case): such a name would never be stored.
function checkCookiePrefix ({ name = '', secure, domain, path }: CookieOptions): void {
  const host = /^__host-/i.test(name)
  if ((host || /^__secure-/i.test(name)) && secure === false) throw new OptionError('cookie.secure', `must be true with the name "${name}" (browsers refuse such cookies otherwise)`, false)
  if (host && domain !== undefined) throw new OptionError('cookie.domain', `must be left out with the name "${name}" (a __Host- cookie is host-only)`, domain)
  if (host && path !== undefined && path !== '/') throw new OptionError('cookie.path', `must be '/' with the name "${name}" (a __Host- cookie is at /)`, path)
}

/** The schema's default of an option. */
function fallback<K extends keyof OptionsInput> (name: K): NonNullable<OptionsInput[K]> {
  return optionsSchema.properties[name].default as NonNullable<OptionsInput[K]>
}

/** Returns a new object with every default filled in; call after `checkOptions`. Builds no services. */
export function ensureDefaults (opts: OtpLoginOptions): ResolvedValues {
  const given: OptionsInput = opts
  const value = <K extends keyof OptionsInput>(name: K): NonNullable<OptionsInput[K]> => given[name] ?? fallback(name)
  const duration = (text: string | number): number => seconds(text) as number // checked by checkOptions
  const refreshTokenTtl = value('refreshTokenTtl')
  const rateLimit = value('rateLimit')
  const defaultLimits = fallback('rateLimit') as Exclude<ResolvedOptions['rateLimit'], false>
  const trustedDevices = value('trustedDevices')
  const sessionCache = value('sessionCache')
  const defaultCache = fallback('sessionCache') as Exclude<ResolvedOptions['sessionCache'], false>
  return {
    prefix: value('prefix'),
    identifierKinds: new Set(opts.identifierKinds ?? deprecatedChannels(opts.channels) ?? fallback('identifierKinds')),
    send: opts.send,
    redis: opts.redis,
    store: opts.store,
    keyPrefix: value('keyPrefix'),
    // Only reached without redis/store: the MemoryStore lives and dies with this process, so may its key.
    codeSecret: opts.codeSecret ?? randomBytes(32).toString('base64url'),
    jwt: opts.jwt,
    accessTokenTtl: duration(value('accessTokenTtl')),
    refreshTokenTtl: refreshTokenTtl === false ? false : duration(refreshTokenTtl),
    refreshGrace: value('refreshGrace'),
    codeLength: value('codeLength'),
    codeTtl: value('codeTtl'),
    maxSends: value('maxSends'),
    maxSendsPerIdentifier: opts.maxSendsPerIdentifier ?? 3 * value('maxSends'),
    lockout: value('lockout'),
    resendInterval: value('resendInterval'),
    maxAttempts: value('maxAttempts'),
    maxFailures: value('maxFailures'),
    defaultCountry: opts.defaultCountry,
    allowedCountries: opts.allowedCountries ? new Set(opts.allowedCountries) : undefined,
    findOrCreateUser: opts.findOrCreateUser ?? (({ phone, email }) => ({ id: phone ?? email })),
    rateLimit: rateLimit === false ? false : { ...defaultLimits, ...definedOnly(rateLimit) },
    testIdentities: new Map(Object.entries(opts.testIdentities ?? {}).map(([id, code]) => [testIdentityKey(id) ?? id, code])),
    smsBudget: opts.smsBudget ? new Map(Object.entries(opts.smsBudget)) : undefined,
    onEvent: opts.onEvent,
    sendTimeout: value('sendTimeout'),
    storeTimeout: value('storeTimeout'),
    credentialStore: opts.credentialStore ?? deprecatedTotpStore(opts.totpStore),
    totp: opts.totpEncryptionKey === undefined
      ? undefined
      : {
          keys: parseEncryptionKeys(opts.totpEncryptionKey) as Buffer[], // checked by checkOptions
          issuer: value('totpIssuer'),
          clock: opts.totpClock ?? Date.now,
          mode: value('totpMode')
        },
    freshAuthAge: value('freshAuthAge'),
    linkIdentifier: opts.linkIdentifier,
    endSessionsOnIdentifierChange: value('endSessionsOnIdentifierChange'),
    maxSessions: value('maxSessions'),
    trustedDevices: trustedDevices === false ? false : { ttl: duration(trustedDevices.ttl ?? (fallback('trustedDevices') as { ttl: string }).ttl) },
    cookie: resolveCookie(value('cookie'), value('prefix')),
    allowedOrigins: opts.allowedOrigins ? new Set(opts.allowedOrigins) : undefined,
    captcha: opts.captcha === undefined ? undefined : { options: opts.captcha, skipTrustedDevices: opts.captcha.skipTrustedDevices ?? true },
    sessionCache: sessionCache === false ? false : { ...defaultCache, ...definedOnly(sessionCache) },
    passkeys: value('passkeys')
  }
}

// A key given as undefined keeps its default, as `??` did.
function definedOnly<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function deprecatedChannels (channels: readonly IdentifierKind[] | undefined): readonly IdentifierKind[] | undefined {
  if (channels !== undefined) deprecations.channels()
  return channels
}

function deprecatedTotpStore (store: HostCredentialStore | undefined): HostCredentialStore | undefined {
  if (store !== undefined) deprecations.totpStore()
  return store
}
