import { randomBytes } from 'node:crypto'
import { parse as parseDuration } from '@lukeed/ms'
import type { FastifyJWTOptions } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max'
import { captchaCheck, type CaptchaCheck, type CaptchaOptions } from './captcha.js'
import type { OtpEventHandler } from './events.js'
import { checkBrowserOptions, resolveCookie, type CookieOptions, type ResolvedCookie } from './options-browser.js'
import { deprecations } from './deprecations.js'
import { looseE164, normalizeEmail, type Channel, type IdentifierKind } from './identity.js'
import { totpStoreMethods, type TotpStore } from './store/credentials/types.js'
import { isOtpStore, otpStoreMethods, type OtpStore } from './store/types.js'
import type { SessionCacheOptions } from './fast-paths/session-cache.js'
import { parseEncryptionKey } from './totp/keys.js'

export type { Channel, IdentifierKind }

/** What `send` is given for one code. */
export interface SendArgs {
  channel: Channel
  /** The E.164 phone number (channel 'sms') or the lower-cased e-mail address (channel 'email'). */
  to: string
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
  request: FastifyRequest
}

export type SendFn = (args: SendArgs) => Promise<void> | void

/** What `findOrCreateUser` returns: `id` becomes the token's `sub`, anything else is added as claims. */
export interface OtpUserRecord {
  id: string
  [claim: string]: unknown
}

/** Who just proved a code: `phone` (E.164) or `email` (lower-cased), never both. */
export type FindOrCreateUserArgs =
  | { phone: string, email?: undefined, request: FastifyRequest }
  | { email: string, phone?: undefined, request: FastifyRequest }

export type FindOrCreateUser = (args: FindOrCreateUserArgs) => Promise<OtpUserRecord> | OtpUserRecord

export interface RouteRateLimit {
  max: number
  timeWindow: string | number
}

export interface RateLimitOptions {
  login?: RouteRateLimit
  verify?: RouteRateLimit
  refresh?: RouteRateLimit
  /** The routes that need an access token: /logout, /sessions, /totp/*. */
  account?: RouteRateLimit
}

/** How an authenticator app counts: a second factor after the code (default), or another way to log in. */
export type TotpMode = 'second-factor' | 'alternative'

export interface TrustedDevicesOptions {
  /** How long a device token stays valid: seconds or a duration like `'90d'`; default `'90d'`. */
  ttl?: string | number
}

export interface OtpLoginOptions {
  prefix?: string
  /** Which identifiers sign-in takes: `['phone']` (default), `['email']` or both. */
  identifierKinds?: readonly IdentifierKind[]
  /** @deprecated Renamed `identifierKinds`; goes in 0.3. */
  channels?: readonly IdentifierKind[]
  send: SendFn
  redis?: Redis | Cluster
  store?: OtpStore
  keyPrefix?: string
  codeSecret?: string
  jwt?: FastifyJWTOptions
  accessTokenTtl?: string | number
  refreshTokenTtl?: string | number | false
  codeLength?: number
  codeTtl?: number
  maxSends?: number
  lockout?: number
  resendInterval?: number
  maxAttempts?: number
  maxFailures?: number
  defaultCountry?: CountryCode
  allowedCountries?: readonly CountryCode[]
  findOrCreateUser?: FindOrCreateUser
  rateLimit?: RateLimitOptions | false
  testIdentities?: Record<string, string>
  allowTestIdentitiesInProduction?: boolean
  smsBudget?: Record<string, number>
  onEvent?: OtpEventHandler
  sendTimeout?: number
  storeTimeout?: number
  totpEncryptionKey?: string
  totpStore?: TotpStore
  totpIssuer?: string
  totpClock?: () => number
  totpMode?: TotpMode
  freshAuthAge?: number
  maxSessions?: number
  trustedDevices?: TrustedDevicesOptions | false
  cookie?: CookieOptions | false
  allowedOrigins?: readonly string[]
  captcha?: CaptchaOptions
  sessionCache?: SessionCacheOptions | false
}

/** Authenticator apps, on when `totpEncryptionKey` is given. */
export interface TotpSettings {
  /** The 32 bytes of `totpEncryptionKey`. */
  key: Buffer
  store: TotpStore | undefined
  issuer: string
  clock: () => number
  mode: TotpMode
}

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
  codeLength: number
  codeTtl: number
  maxSends: number
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
  /** Seconds. */
  freshAuthAge: number
  maxSessions: number
  /** Seconds a device token lives, or false: no trusted devices. */
  trustedDevices: { ttl: number } | false
  cookie: ResolvedCookie | false
  /** Origins allowed on the cookie-reading routes; undefined: the request's own host only. */
  allowedOrigins: ReadonlySet<string> | undefined
  captcha: { check: CaptchaCheck, skipTrustedDevices: boolean } | undefined
  /** With `redis` (and sessions): entries and milliseconds of the live-session cache, or false. */
  sessionCache: { max: number, ttl: number } | false
}

export const defaultRateLimit = {
  login: { max: 10, timeWindow: '1 minute' },
  verify: { max: 30, timeWindow: '1 minute' },
  refresh: { max: 30, timeWindow: '1 minute' },
  account: { max: 30, timeWindow: '1 minute' }
} as const

/** Every option of `OtpLoginOptions`, at run time: unknown names are refused, and the README lists these. */
export const optionNames = [
  'prefix', 'identifierKinds', 'channels', 'send', 'redis', 'store', 'keyPrefix', 'codeSecret', 'jwt', 'accessTokenTtl', 'refreshTokenTtl',
  'codeLength', 'codeTtl', 'maxSends', 'lockout', 'resendInterval', 'maxAttempts', 'maxFailures', 'defaultCountry',
  'allowedCountries', 'findOrCreateUser', 'onEvent', 'rateLimit', 'testIdentities', 'allowTestIdentitiesInProduction',
  'smsBudget', 'sendTimeout', 'storeTimeout', 'totpEncryptionKey', 'totpStore', 'totpIssuer', 'totpClock',
  'totpMode', 'freshAuthAge', 'maxSessions', 'trustedDevices', 'cookie', 'allowedOrigins', 'captcha', 'sessionCache'
] as const

// Fastify passes these to every plugin.
const known = new Set<string>([...optionNames, 'logLevel', 'logSerializers'])

class OptionError extends Error {
  constructor (name: string, rule: string, value: unknown, shown = describe(value)) {
    super(`fastify-otp-login: option "${name}" ${rule} (got ${shown})`)
    this.name = 'OtpLoginOptionError'
  }
}

function describe (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

function checkInteger (opts: Record<string, unknown>, name: string, min: number, max: number, shownName = name): void {
  const value = opts[name]
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(shownName, `must be an integer from ${min} to ${max}`, value)
  }
}

function checkCountry (name: string, value: unknown): void {
  if (typeof value !== 'string' || !isSupportedCountry(value)) {
    throw new OptionError(name, 'must be an ISO 3166-1 alpha-2 country code that libphonenumber-js supports, like "IN"', value)
  }
}

function checkDuration (name: string, value: unknown): number {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : undefined
  if (ms === undefined || !Number.isFinite(ms) || ms < 1000) {
    throw new OptionError(name, 'must be a number of seconds or a duration like "15m", of at least one second', value)
  }
  return Math.floor(ms / 1000)
}

function checkRouteLimit (name: string, value: unknown): void {
  const limit = value as Partial<RouteRateLimit> | null
  if (limit === null || typeof limit !== 'object' || Array.isArray(limit)) {
    throw new OptionError(name, 'must be an object { max, timeWindow }', value)
  }
  const max = limit.max
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new OptionError(`${name}.max`, 'must be a positive integer', max)
  }
  const window = limit.timeWindow
  const ms = typeof window === 'number' ? window : typeof window === 'string' ? parseDuration(window) : undefined
  if (ms === undefined || !Number.isFinite(ms) || ms < 1) {
    throw new OptionError(`${name}.timeWindow`, 'must be milliseconds or a duration like "1 minute"', window)
  }
}

function isRedisClient (value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { defineCommand?: unknown }).defineCommand === 'function'
}

/** Throws an error naming the first option that is wrong. Reads, never changes, `opts`. */
export function checkOptions (opts: unknown): asserts opts is OtpLoginOptions {
  if (opts === null || typeof opts !== 'object') {
    throw new Error('fastify-otp-login: options must be an object')
  }
  const o = opts as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new Error(`fastify-otp-login: unknown option "${key}"`)
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || (o.prefix !== '' && (!o.prefix.startsWith('/') || o.prefix.endsWith('/'))))) {
    throw new OptionError('prefix', 'must be "" or a path like "/api/auth" (leading slash, no trailing slash)', o.prefix)
  }
  if (typeof o.send !== 'function') throw new OptionError('send', 'is required and must be a function', o.send)
  if (o.redis !== undefined && !isRedisClient(o.redis)) {
    throw new OptionError('redis', 'must be an ioredis Redis or Cluster client', o.redis)
  }
  if (o.store !== undefined && !isOtpStore(o.store)) {
    throw new OptionError('store', `must implement ${otpStoreMethods.join(', ')}`, o.store)
  }
  if (o.keyPrefix !== undefined && (typeof o.keyPrefix !== 'string' || o.keyPrefix.length > 64 || /[{}\s]/.test(o.keyPrefix))) {
    throw new OptionError('keyPrefix', 'must be a string of at most 64 characters without braces or spaces', o.keyPrefix)
  }
  if (o.codeSecret === undefined) {
    if (o.redis !== undefined || o.store !== undefined) {
      throw new OptionError('codeSecret', 'is required with "redis" or "store", so every instance hashes codes alike', o.codeSecret)
    }
  } else if (typeof o.codeSecret !== 'string' || o.codeSecret.length < 32) {
    // Never echo a secret: say only how long it was.
    const shown = typeof o.codeSecret === 'string' ? `${o.codeSecret.length} characters` : typeof o.codeSecret
    throw new OptionError('codeSecret', 'must be a string of at least 32 characters', o.codeSecret, shown)
  }
  if (o.jwt !== undefined && (o.jwt === null || typeof o.jwt !== 'object' || Array.isArray(o.jwt))) {
    throw new OptionError('jwt', 'must be an object of @fastify/jwt options', o.jwt)
  }
  if (o.accessTokenTtl !== undefined) checkDuration('accessTokenTtl', o.accessTokenTtl)
  if (o.refreshTokenTtl !== undefined && o.refreshTokenTtl !== false) checkDuration('refreshTokenTtl', o.refreshTokenTtl)
  checkInteger(o, 'codeLength', 6, 10)
  checkInteger(o, 'codeTtl', 1, 86400)
  checkInteger(o, 'maxSends', 1, 1000)
  checkInteger(o, 'lockout', 1, 30 * 86400)
  checkInteger(o, 'resendInterval', 0, 86400)
  checkInteger(o, 'maxAttempts', 1, 100)
  checkInteger(o, 'maxFailures', 1, 10000)
  checkInteger(o, 'sendTimeout', 100, 120_000)
  checkInteger(o, 'freshAuthAge', 1, 86400)
  checkInteger(o, 'maxSessions', 1, 1000)
  if (o.trustedDevices !== undefined && o.trustedDevices !== false) {
    const devices = o.trustedDevices as Record<string, unknown> | null
    if (devices === null || typeof devices !== 'object' || Array.isArray(devices)) {
      throw new OptionError('trustedDevices', "must be false or an object { ttl } (default { ttl: '90d' })", devices)
    }
    for (const key of Object.keys(devices)) {
      if (key !== 'ttl') throw new Error(`fastify-otp-login: unknown option "trustedDevices.${key}"`)
    }
    if (devices.ttl !== undefined) checkDuration('trustedDevices.ttl', devices.ttl)
  }
  checkInteger(o, 'storeTimeout', 50, 60_000)
  if (o.defaultCountry !== undefined) checkCountry('defaultCountry', o.defaultCountry)
  if (o.allowedCountries !== undefined) {
    if (!Array.isArray(o.allowedCountries) || o.allowedCountries.length === 0) {
      throw new OptionError('allowedCountries', 'must be a non-empty array of ISO country codes', o.allowedCountries)
    }
    for (const country of o.allowedCountries) checkCountry('allowedCountries', country)
  }
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') {
    throw new OptionError('onEvent', 'must be a function', o.onEvent)
  }
  if (o.findOrCreateUser !== undefined && typeof o.findOrCreateUser !== 'function') {
    throw new OptionError('findOrCreateUser', 'must be a function', o.findOrCreateUser)
  }
  if (o.channels !== undefined && o.identifierKinds !== undefined) {
    throw new OptionError('channels', 'is the old name of "identifierKinds": give only "identifierKinds"', o.channels)
  }
  for (const name of ['identifierKinds', 'channels']) {
    const kinds = o[name]
    if (kinds !== undefined && (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((c) => c !== 'phone' && c !== 'email') ||
        new Set(kinds).size !== kinds.length)) {
      throw new OptionError(name, "must be ['phone'], ['email'] or ['phone', 'email']", kinds)
    }
  }
  if (o.allowTestIdentitiesInProduction !== undefined && typeof o.allowTestIdentitiesInProduction !== 'boolean') {
    throw new OptionError('allowTestIdentitiesInProduction', 'must be a boolean', o.allowTestIdentitiesInProduction)
  }
  if (o.testIdentities !== undefined) checkTestIdentities(o)
  if (o.smsBudget !== undefined) {
    const budget = o.smsBudget as Record<string, unknown> | null
    if (budget === null || typeof budget !== 'object' || Array.isArray(budget) || Object.keys(budget).length === 0) {
      throw new OptionError('smsBudget', "must be an object of country calling codes (or '*') to codes per hour", budget)
    }
    for (const [key, limit] of Object.entries(budget)) {
      if (key !== '*' && !/^[1-9][0-9]{0,2}$/.test(key)) {
        throw new OptionError('smsBudget', "keys must be country calling codes like '91' or '*'", key)
      }
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
        throw new OptionError(`smsBudget.${key}`, 'must be a positive integer (codes per hour)', limit)
      }
    }
  }
  checkTotpOptions(o)
  checkBrowserOptions(o, (name, rule, value) => { throw new OptionError(name, rule, value) })
  if (o.sessionCache !== undefined && o.sessionCache !== false) {
    const cache = o.sessionCache as Record<string, unknown> | null
    if (cache === null || typeof cache !== 'object' || Array.isArray(cache)) throw new OptionError('sessionCache', 'must be false or an object { max, ttl }', cache)
    for (const key of Object.keys(cache)) {
      if (key !== 'max' && key !== 'ttl') throw new Error(`fastify-otp-login: unknown option "sessionCache.${key}"`)
    }
    checkInteger(cache, 'max', 1, 10_000_000, 'sessionCache.max')
    checkInteger(cache, 'ttl', 1, 60_000, 'sessionCache.ttl')
  }
  if (o.rateLimit !== undefined && o.rateLimit !== false) {
    const limits = o.rateLimit as Record<string, unknown> | null
    if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
      throw new OptionError('rateLimit', 'must be false or an object { login, verify, refresh, account }', o.rateLimit)
    }
    for (const key of Object.keys(limits)) {
      if (!(key in defaultRateLimit)) throw new Error(`fastify-otp-login: unknown option "rateLimit.${key}"`)
      checkRouteLimit(`rateLimit.${key}`, limits[key])
    }
  }
}

function checkTestIdentities (o: Record<string, unknown>): void {
  const identities = o.testIdentities as Record<string, unknown> | null
  if (identities === null || typeof identities !== 'object' || Array.isArray(identities)) {
    throw new OptionError('testIdentities', 'must be an object of phone numbers or e-mail addresses to fixed codes', identities)
  }
  if (process.env.NODE_ENV === 'production' && o.allowTestIdentitiesInProduction !== true) {
    throw new Error('fastify-otp-login: option "testIdentities" is refused when NODE_ENV=production; ' +
      'set "allowTestIdentitiesInProduction: true" if you really want fixed codes in production')
  }
  const length = (o.codeLength as number | undefined) ?? 6
  for (const [identifier, code] of Object.entries(identities)) {
    if (testIdentityKey(identifier) === undefined) {
      throw new OptionError('testIdentities', 'keys must be E.164 phone numbers or e-mail addresses', identifier)
    }
    // Shown as its length only: it is a working code.
    if (typeof code !== 'string' || !new RegExp(`^[0-9]{${length}}$`).test(code)) {
      throw new OptionError(`testIdentities["${identifier}"]`, `must be a string of codeLength (${length}) digits`, code, `${typeof code === 'string' ? code.length + ' characters' : typeof code}`)
    }
  }
}

function checkTotpOptions (o: Record<string, unknown>): void {
  if (o.totpEncryptionKey === undefined) {
    for (const name of ['totpStore', 'totpIssuer', 'totpClock', 'totpMode']) {
      if (o[name] !== undefined) throw new OptionError(name, 'needs "totpEncryptionKey": authenticator apps are on only with it', o[name])
    }
    return
  }
  if (typeof o.totpEncryptionKey !== 'string' || parseEncryptionKey(o.totpEncryptionKey) === undefined) {
    // Never echo a key: say only how long it was.
    const shown = typeof o.totpEncryptionKey === 'string' ? `${o.totpEncryptionKey.length} characters` : typeof o.totpEncryptionKey
    throw new OptionError('totpEncryptionKey', 'must be 32 bytes as 64 hex digits or as base64', o.totpEncryptionKey, shown)
  }
  const store = o.totpStore as Record<string, unknown> | null | undefined
  if (store !== undefined && (store === null || typeof store !== 'object' || totpStoreMethods.some((name) => typeof store[name] !== 'function'))) {
    throw new OptionError('totpStore', `must implement ${totpStoreMethods.join(', ')}`, store)
  }
  if (store === undefined && o.store !== undefined && o.redis === undefined) {
    throw new OptionError('totpStore', 'is required with "store" and no "redis": authenticators must outlive the process', store)
  }
  if (o.totpIssuer !== undefined && (typeof o.totpIssuer !== 'string' || !/^[^:]{1,64}$/.test(o.totpIssuer))) {
    throw new OptionError('totpIssuer', 'must be a string of 1 to 64 characters without a colon', o.totpIssuer)
  }
  if (o.totpMode !== undefined && o.totpMode !== 'second-factor' && o.totpMode !== 'alternative') {
    throw new OptionError('totpMode', "must be 'second-factor' or 'alternative'", o.totpMode)
  }
  if (o.totpClock !== undefined && typeof o.totpClock !== 'function') {
    throw new OptionError('totpClock', 'must be a function returning milliseconds since the epoch', o.totpClock)
  }
}

function testIdentityKey (identifier: string): string | undefined {
  return identifier.includes('@') ? normalizeEmail(identifier)?.value : looseE164(identifier)
}

/** Returns a new object with every default filled in; call after `checkOptions`. */
export function ensureDefaults (opts: OtpLoginOptions): ResolvedOptions {
  return {
    prefix: opts.prefix ?? '',
    identifierKinds: new Set(opts.identifierKinds ?? deprecatedChannels(opts.channels) ?? ['phone']),
    send: opts.send,
    redis: opts.redis,
    store: opts.store,
    keyPrefix: opts.keyPrefix ?? 'otp:',
    // Only reached without redis/store: the MemoryStore lives and dies with this process, so may its key.
    codeSecret: opts.codeSecret ?? randomBytes(32).toString('base64url'),
    jwt: opts.jwt,
    accessTokenTtl: checkDuration('accessTokenTtl', opts.accessTokenTtl ?? '15m'),
    refreshTokenTtl: opts.refreshTokenTtl === false ? false : checkDuration('refreshTokenTtl', opts.refreshTokenTtl ?? '30d'),
    codeLength: opts.codeLength ?? 6,
    codeTtl: opts.codeTtl ?? 600,
    maxSends: opts.maxSends ?? 3,
    lockout: opts.lockout ?? 3600,
    resendInterval: opts.resendInterval ?? 30,
    maxAttempts: opts.maxAttempts ?? 5,
    maxFailures: opts.maxFailures ?? 10,
    defaultCountry: opts.defaultCountry,
    allowedCountries: opts.allowedCountries ? new Set(opts.allowedCountries) : undefined,
    findOrCreateUser: opts.findOrCreateUser ?? (({ phone, email }) => ({ id: phone ?? email })),
    rateLimit: opts.rateLimit === false
      ? false
      : {
          login: opts.rateLimit?.login ?? defaultRateLimit.login,
          verify: opts.rateLimit?.verify ?? defaultRateLimit.verify,
          refresh: opts.rateLimit?.refresh ?? defaultRateLimit.refresh,
          account: opts.rateLimit?.account ?? defaultRateLimit.account
        },
    testIdentities: new Map(Object.entries(opts.testIdentities ?? {}).map(([id, code]) => [testIdentityKey(id) ?? id, code])),
    smsBudget: opts.smsBudget ? new Map(Object.entries(opts.smsBudget)) : undefined,
    onEvent: opts.onEvent,
    sendTimeout: opts.sendTimeout ?? 10_000,
    storeTimeout: opts.storeTimeout ?? 2000,
    totp: opts.totpEncryptionKey === undefined
      ? undefined
      : {
          key: parseEncryptionKey(opts.totpEncryptionKey) as Buffer, // checked by checkOptions
          store: opts.totpStore,
          issuer: opts.totpIssuer ?? 'fastify-otp-login',
          clock: opts.totpClock ?? Date.now,
          mode: opts.totpMode ?? 'second-factor'
        },
    freshAuthAge: opts.freshAuthAge ?? 300,
    maxSessions: opts.maxSessions ?? 50,
    trustedDevices: opts.trustedDevices === false ? false : { ttl: checkDuration('trustedDevices.ttl', opts.trustedDevices?.ttl ?? '90d') },
    cookie: resolveCookie(opts.cookie, opts.prefix ?? ''),
    allowedOrigins: opts.allowedOrigins ? new Set(opts.allowedOrigins) : undefined,
    captcha: opts.captcha === undefined
      ? undefined
      : { check: captchaCheck(opts.captcha), skipTrustedDevices: opts.captcha.skipTrustedDevices ?? true },
    sessionCache: opts.sessionCache === false ? false : { max: opts.sessionCache?.max ?? 10_000, ttl: opts.sessionCache?.ttl ?? 1000 }
  }
}

function deprecatedChannels (channels: readonly IdentifierKind[] | undefined): readonly IdentifierKind[] | undefined {
  if (channels !== undefined) deprecations.channels()
  return channels
}
