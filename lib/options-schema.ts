import { parse as parseDuration } from '@lukeed/ms'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { FastifyJWTOptions } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max'
import type { OtpEventHandler } from './events.js'
import { looseE164, normalizeEmail, type IdentifierKind } from './identity.js'
import { schemaChecker } from './schema-check.js'
import type { SendFn } from './senders/delivery.js'
import { credentialStoreMethods, totpStoreMethods, type CredentialStore, type TotpStore } from './store/credentials/types.js'
import { otpStoreMethods as storeMethods, type OtpStore } from './store/types.js'
import { maxEncryptionKeys, parseEncryptionKeys } from './totp/keys.js'

// The plugin's options, once: their types (Static), their checks (lib/schema-check.ts reads `rule`, `check`,
// `methods` and `secret`), their defaults and the README's options table (scripts/options-table.mjs).

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

/** A signed-in user (`userId`, the token's `sub`) proved a code sent to a new phone number or e-mail address. */
export interface LinkIdentifierArgs { userId: string, identifier: string, kind: IdentifierKind, request: FastifyRequest }

/** Records the new identifier for the user; throws `IdentifierTakenError` (409) when it is another user's. */
export type LinkIdentifier = (args: LinkIdentifierArgs) => Promise<void> | void

const durationRule = 'must be a number of seconds or a duration like "15m", of at least one second'
const fn = <F>(rule: string, more: Record<string, unknown> = {}) => Type.Unsafe<F>({ check: 'function', rule, ...more })
const int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum, rule: `must be an integer from ${minimum} to ${maximum}` })
const integer = (minimum: number, maximum: number, fallback: number, description: string) =>
  Type.Optional(Type.Integer({ ...int(minimum, maximum), default: fallback, description }))
const duration = (more: Record<string, unknown> = {}) => Type.Unsafe<string | number>({ check: 'duration', rule: durationRule, ...more })
const kinds = (description: string, more: Record<string, unknown>) => Type.Optional(Type.Unsafe<readonly IdentifierKind[]>(
  Type.Array(Type.Union([Type.Literal('phone'), Type.Literal('email')]), { minItems: 1, uniqueItems: true, description, rule: "must be ['phone'], ['email'] or ['phone', 'email']", ...more })
))
const country = (more: Record<string, unknown> = {}) =>
  Type.Unsafe<CountryCode>({ type: 'string', check: 'country', rule: 'must be an ISO 3166-1 alpha-2 country code that libphonenumber-js supports, like "IN"', ...more })
const orFalse = <T extends TSchema>(schema: T, fallback: unknown, description: string, rule: string) =>
  Type.Optional(Type.Union([Type.Literal(false), schema], { default: fallback, description, rule }))

export const routeRateLimitSchema = Type.Object({
  max: Type.Integer({ minimum: 1, rule: 'must be a positive integer' }),
  timeWindow: Type.Unsafe<string | number>({ check: 'timeWindow', rule: 'must be milliseconds or a duration like "1 minute"' })
}, { rule: 'must be an object { max, timeWindow }' })

const route = Type.Optional(routeRateLimitSchema)
export const rateLimitSchema = Type.Object({
  login: route,
  verify: route,
  refresh: route,
  /** The routes that need an access token: /logout, /sessions, /totp/*. */
  account: route
}, { additionalProperties: false })

export const trustedDevicesSchema = Type.Object({
  /** How long a device token stays valid: seconds or a duration like `'90d'`; default `'90d'`. */
  ttl: Type.Optional(duration())
}, { additionalProperties: false })

/** `cookie`: the refresh (and device) token in cookies instead of response bodies, for browser apps. */
export const cookieSchema = Type.Object({
  /**
   * The refresh cookie's name, used as given; the device cookie is this plus `_device`. Default
   * `'__Host-otp_refresh'` (device `'__Host-otp_device'`), or `'otp_refresh'` (device `'otp_refresh_device'`)
   * where a `__Host-` cookie cannot be (a `domain`, `secure: false`, a `path` other than `/`).
   */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', rule: 'must be 1 to 64 letters, digits, - or _' })),
  /** Default `/` (a `__Host-` cookie is at `/`); with `domain` or `secure: false`, the plugin's `prefix` (or `/`). */
  path: Type.Optional(Type.String({ pattern: '^/[^;\\s]*$', rule: 'must be a path starting with /' })),
  /** Default: none, a host-only cookie. Setting it gives up the `__Host-` names: a sibling subdomain can then plant cookies. */
  domain: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}$', rule: 'must be a host name' })),
  /** Default `'strict'`. */
  sameSite: Type.Optional(Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { rule: "must be 'strict', 'lax' or 'none'" })),
  /** Default `true`; `false` gives up the `__Host-` names (which need `Secure`). */
  secure: Type.Optional(Type.Boolean({ rule: 'must be a boolean' }))
}, { additionalProperties: false })

const skipTrustedDevices = Type.Optional(Type.Boolean({ rule: 'must be a boolean' }))
const siteverifyCaptcha = Type.Object({
  provider: Type.Union([Type.Literal('turnstile'), Type.Literal('hcaptcha')], { rule: "must be 'turnstile' or 'hcaptcha' (or give captcha.verify)" }),
  /** The provider's secret key for this site. */
  secret: Type.String({ minLength: 1, secret: 'kind', rule: "is required: the provider's secret key" }),
  /** Where to check tokens; the provider's own siteverify endpoint by default (a local fake in tests). */
  siteverifyUrl: Type.Optional(Type.String({ pattern: '^https?://', rule: 'must be an http(s) URL' })),
  /** Milliseconds to wait for the provider; default 5000. Past it: `503 OTP_CAPTCHA_UNAVAILABLE`. */
  timeout: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, rule: 'must be an integer from 100 to 60000 (milliseconds)' })),
  /** A request with a valid device token for its identifier needs no captcha; default true. */
  skipTrustedDevices
}, { additionalProperties: false })
const ownCaptcha = Type.Object({
  /** True when `token` proves a human; a throw is an outage (`503 OTP_CAPTCHA_UNAVAILABLE`). */
  verify: fn<(token: string, request: FastifyRequest) => Promise<boolean> | boolean>('must be a function (token, request) => boolean'),
  skipTrustedDevices
}, { additionalProperties: false, unknown: 'does not go with "captcha.verify"' })
/** A bot check before `/login` sends a code: a provider's siteverify API, or a check of the host's own. */
export type CaptchaOptions = Static<typeof siteverifyCaptcha> | Static<typeof ownCaptcha>

export const sessionCacheSchema = Type.Object({
  /** Sessions remembered as live, at most; the oldest go first. Default 10 000 (about 1 MB). */
  max: Type.Optional(int(1, 10_000_000)),
  /** Milliseconds a session is taken as live without asking the store again. Default 1000. */
  ttl: Type.Optional(int(1, 60_000))
}, { additionalProperties: false })

/** `passkeys`: WebAuthn sign-in (docs/passkeys.md). */
export const passkeysSchema = Type.Object({
  /** The relying party id: the site's host name (`example.com`), a suffix of every origin's host. */
  rpId: Type.String({ maxLength: 253, pattern: '^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$', rule: "must be a lower-case host name like 'example.com'" }),
  /** The name a browser shows for the site. */
  rpName: Type.String({ minLength: 1, maxLength: 64, rule: 'must be a string of 1 to 64 characters' }),
  /** The exact origins of the pages that may use passkeys, scheme included. */
  origins: Type.Array(Type.String({ check: 'origin', rule: "must hold origins like 'https://app.example.com' (lower-case scheme and host, a port unless the default one, no path)" }), { minItems: 1, maxItems: 32, rule: "must be a non-empty array of origins like 'https://app.example.com'" })
}, { additionalProperties: false, check: 'passkeys', rule: 'must be false or { rpId, rpName, origins }, rpId a suffix of the host of every origin' })
export type PasskeysOptions = Static<typeof passkeysSchema>

export const optionsSchema = Type.Object({
  prefix: Type.Optional(Type.String({ pattern: '^(?:/[\\s\\S]*[^/])?$', default: '', description: "where the plugin's routes live (`'/api/auth'` gives `/api/auth/login`)", rule: 'must be "" or a path like "/api/auth" (leading slash, no trailing slash)' })),
  send: fn<SendFn>('is required and must be a function', { description: '`async ({ channel, to, code, expiresIn, request }) => void`: delivers one code; a throw answers `502 OTP_DELIVERY_FAILED`', defaultText: 'required' }),
  identifierKinds: kinds("what users sign in with: `['phone']`, `['email']` or both", { default: ['phone'] }),
  channels: kinds('deprecated (FOTPDEP001): the old name of `identifierKinds`; goes in 0.3', { defaultText: 'none' }),
  redis: Type.Optional(Type.Unsafe<Redis | Cluster>({ type: 'object', methods: ['defineCommand'], secret: 'kind', rule: 'must be an ioredis Redis or Cluster client', defaultText: 'none: the in-process `MemoryStore`', description: 'an ioredis `Redis` or `Cluster` client; never closed by the plugin' })),
  store: Type.Optional(Type.Unsafe<OtpStore>({ type: 'object', methods: storeMethods, secret: 'kind', rule: `must implement ${storeMethods.join(', ')}`, defaultText: 'none', description: 'a store of your own ([the interface](docs/scale.md#a-store-of-your-own) of `RedisStore` and `MemoryStore`); wins over `redis`' })),
  keyPrefix: Type.Optional(Type.String({ maxLength: 64, pattern: '^[^{}\\s]*$', default: 'otp:', description: 'prefix of every Redis key the plugin writes', rule: 'must be a string of at most 64 characters without braces or spaces' })),
  codeSecret: Type.Optional(Type.String({ minLength: 32, secret: 'length', defaultText: 'required with `redis` or `store`; else a random key per process', description: 'HMAC key for codes at rest and device tokens, at least 32 characters; the same on every instance', rule: 'must be a string of at least 32 characters' })),
  jwt: Type.Optional(Type.Unsafe<FastifyJWTOptions>({ type: 'object', secret: 'kind', defaultText: 'none', description: "@fastify/jwt's options, unless the host registered @fastify/jwt (then `jwt.secret` is required, 32 characters or more)", rule: 'must be an object of @fastify/jwt options' })),
  accessTokenTtl: Type.Optional(duration({ default: '15m', description: "lifetime of an access token: seconds or a duration like `'2h'`" })),
  refreshTokenTtl: orFalse(duration(), '30d', 'lifetime of a session and its refresh token; `false`: [no sessions](docs/sessions.md#without-sessions), no `/refresh`, `/logout`, `/sessions`', durationRule),
  refreshGrace: integer(0, 300, 10, 'seconds after a refresh during which the refresh token it spent may be presented once more for a working pair (a lost answer, two tabs); then it is reuse ([refresh grace](docs/sessions.md#the-refresh-grace)); `0` turns it off'),
  codeLength: integer(6, 10, 6, 'digits in a code, 6 to 10'),
  codeTtl: integer(1, 86400, 600, 'seconds a code stays valid'),
  maxSends: integer(1, 1000, 3, 'codes one identifier may be sent within `lockout` seconds'),
  maxSendsPerIdentifier: Type.Optional(Type.Integer({ ...int(1, 100_000), defaultText: '`3 × maxSends`', description: "the ceiling: codes one identifier may be sent within `lockout` seconds, its own and all its [trusted devices'](docs/security.md#one-ceiling-per-identifier) together; at least `maxSends`" })),
  lockout: integer(1, 30 * 86400, 3600, 'seconds of the send window, of the failure window and of a lockout'),
  resendInterval: integer(0, 86400, 30, 'seconds between two codes to one identifier; `0` turns it off'),
  maxAttempts: integer(1, 100, 5, 'wrong guesses that burn one code (or one `mfaToken`)'),
  maxFailures: integer(1, 10000, 10, 'wrong guesses for one identifier within `lockout` seconds, on every route, before it is locked out'),
  defaultCountry: Type.Optional(country({ defaultText: 'none', description: "ISO 3166 country of national-format numbers (`'IN'` reads `9876543210` as `+919876543210`)" })),
  allowedCountries: Type.Optional(Type.Unsafe<readonly CountryCode[]>(Type.Array(country(), { minItems: 1, defaultText: 'all', description: 'ISO countries whose numbers are accepted; others get `OTP_INVALID_PHONE`', rule: 'must be a non-empty array of ISO country codes' }))),
  findOrCreateUser: Type.Optional(fn<FindOrCreateUser>('must be a function', { description: 'called with `{ phone, request }` or `{ email, request }` once per sign-in; returns `{ id, ...claims }`', defaultText: '`({ phone, email }) => ({ id: phone ?? email })`' })),
  onEvent: Type.Optional(fn<OtpEventHandler>('must be a function', { description: '`(event, request) => void` at every step of the flow ([events](docs/tokens.md#events)), for audit logs and metrics; never awaited', defaultText: 'none' })),
  rateLimit: orFalse(rateLimitSchema, { login: { max: 10, timeWindow: '1 minute' }, verify: { max: 30, timeWindow: '1 minute' }, refresh: { max: 30, timeWindow: '1 minute' }, account: { max: 30, timeWindow: '1 minute' } },
    "per-IP limits of the plugin's routes (`login`, `verify`, `refresh`, `account`); a key left out keeps its default; `false` turns them off", 'must be false or an object { login, verify, refresh, account }'),
  // The codes are checked beside codeLength, in lib/options.ts.
  testIdentities: Type.Optional(Type.Record(Type.String(), Type.Unsafe<string>({}), {
    propertyNames: { check: 'identifier', rule: 'keys must be E.164 phone numbers or e-mail addresses' },
    defaultText: 'none',
    description: "fixed codes for identities that are never sent one (app-store reviewers, end-to-end tests), e.g. `{ '+15550000000': '123456' }`; refused when `NODE_ENV=production`",
    rule: 'must be an object of phone numbers or e-mail addresses to fixed codes'
  })),
  allowTestIdentitiesInProduction: Type.Optional(Type.Boolean({ default: false, description: 'allows `testIdentities` with `NODE_ENV=production`', rule: 'must be a boolean' })),
  smsBudget: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 1, rule: 'must be a positive integer (codes per hour)' }), {
    minProperties: 1,
    propertyNames: { pattern: '^(?:\\*|[1-9][0-9]{0,2})$', rule: "keys must be country calling codes like '91' or '*'" },
    defaultText: 'none',
    description: "codes per hour per country calling code, e.g. `{ '91': 5000, '*': 100 }`; past it `429 OTP_SEND_BUDGET_EXCEEDED`",
    rule: "must be an object of country calling codes (or '*') to codes per hour"
  })),
  sendTimeout: integer(100, 120_000, 10_000, 'milliseconds `send` may take; past it `502 OTP_DELIVERY_FAILED`'),
  storeTimeout: integer(50, 60_000, 2000, 'milliseconds a store call may take; past it `503 OTP_STORE_UNAVAILABLE` ([fail fast](docs/scale.md#fail-fast-when-redis-is-away))'),
  totpEncryptionKey: Type.Optional(Type.Unsafe<string | readonly string[]>({ check: 'encryptionKeys', secret: 'length', defaultText: 'none: no TOTP routes', description: 'turns on [authenticator apps](docs/authenticators.md): 32 random bytes as 64 hex digits or base64 (`openssl rand -hex 32`), or a list of such keys, newest first ([key rotation](docs/authenticators.md#key-rotation)); the same on every instance', rule: `must be 32 bytes as 64 hex digits or as base64, or a list of 1 to ${maxEncryptionKeys} such keys (newest first, none twice)` })),
  credentialStore: Type.Optional(Type.Unsafe<CredentialStore>({ type: 'object', methods: credentialStoreMethods, secret: 'kind', defaultText: 'a `RedisCredentialStore` on `redis` (refused without persistence), else a `MemoryCredentialStore`', description: 'where authenticators and passkeys live ([credential stores](docs/authenticators.md#where-authenticators-live)); required with `store` and no `redis`', rule: `must implement ${credentialStoreMethods.join(', ')}` })),
  totpStore: Type.Optional(Type.Unsafe<TotpStore>({ type: 'object', methods: totpStoreMethods, secret: 'kind', defaultText: 'none', description: 'deprecated (FOTPDEP003): the old name of `credentialStore`, for a 0.1 `TotpStore`; goes in 0.3', rule: `must implement ${totpStoreMethods.join(', ')}` })),
  totpIssuer: Type.Optional(Type.String({ pattern: '^[^:]{1,64}$', default: 'fastify-otp-login', description: 'the name an authenticator app shows above the account', rule: 'must be a string of 1 to 64 characters without a colon' })),
  totpClock: Type.Optional(fn<() => number>('must be a function returning milliseconds since the epoch', { description: 'the clock of the TOTP time steps, in milliseconds; for tests', defaultText: '`Date.now`' })),
  totpMode: Type.Optional(Type.Union([Type.Literal('second-factor'), Type.Literal('alternative')], { default: 'second-factor', description: "`'second-factor'`: a code *and* an authenticator; `'alternative'`: an authenticator code alone signs in ([two modes](docs/authenticators.md#two-modes))", rule: "must be 'second-factor' or 'alternative'" })),
  freshAuthAge: integer(1, 86400, 300, 'seconds since sign-in within which the TOTP routes are allowed; the default of `app.requireFreshAuth()`'),
  linkIdentifier: Type.Optional(fn<LinkIdentifier>('must be a function', { description: "turns on [`POST /identifiers`](docs/identifiers.md): `async ({ userId, identifier, kind, request }) => void` records a proved new phone number or e-mail address; throw `IdentifierTakenError` (409) when it is another user's", defaultText: 'none: no /identifiers routes' })),
  endSessionsOnIdentifierChange: Type.Optional(Type.Union([Type.Literal('others'), Type.Literal('all'), Type.Literal('none')], { default: 'others', description: "sessions ended when a user adds an identifier ([identifiers](docs/identifiers.md#sessions)): `'others'` all but the one that added it, `'all'`, or `'none'`", rule: "must be 'others', 'all' or 'none'" })),
  maxSessions: integer(1, 1000, 50, 'live sessions per user; a new sign-in beyond it ends the least recently used'),
  trustedDevices: orFalse(trustedDevicesSchema, { ttl: '90d' }, 'a `deviceToken` per sign-in that gives its device counters of its own for `ttl` ([trusted devices](docs/security.md#trusted-devices)); `false` turns it off', "must be false or an object { ttl } (default { ttl: '90d' })"),
  cookie: orFalse(cookieSchema, false, '[browser apps](docs/browser.md): `{ name, path, domain, sameSite, secure }`; refresh and device tokens in `HttpOnly` cookies, never in a body: `__Host-otp_refresh` and `__Host-otp_device` (`Secure`, host-only, `Path=/`) unless `domain`, `secure: false` or another `path` rule that out', 'must be false or an object { name, path, domain, sameSite, secure }'),
  allowedOrigins: Type.Optional(Type.Array(Type.String({ check: 'origin', rule: "must hold origins as a browser writes them, like 'https://app.example.com' or 'http://localhost:3000' (lower-case scheme and host, a port unless the default one, no path, no trailing slash)" }), {
    minItems: 1, defaultText: "the request's own origin (`request.protocol`, host and port)", description: 'with `cookie`: the exact origins (scheme, host and port) whose pages may call the routes that read the cookies', rule: "must be a non-empty array of origins like 'https://app.example.com'"
  })),
  captcha: Type.Optional(Type.Unsafe<CaptchaOptions>({
    type: 'object',
    if: { required: ['verify'] },
    then: ownCaptcha,
    else: siteverifyCaptcha,
    defaultText: 'none',
    description: "a bot check before `/login` sends: `{ provider: 'turnstile' | 'hcaptcha', secret }` or `{ verify }`",
    rule: "must be { provider: 'turnstile' | 'hcaptcha', secret } or { verify }"
  })),
  passkeys: orFalse(passkeysSchema, false, '[passkeys](docs/passkeys.md): `{ rpId, rpName, origins }` turns on the `/passkeys` routes; `false` leaves them off', "must be false or an object { rpId, rpName, origins }: rpId a lower-case host name, the host of every origin or a parent domain of it; origins exact, like 'https://app.example.com'"),
  sessionCache: orFalse(sessionCacheSchema, { max: 10_000, ttl: 1000 }, 'with `redis`: `app.authenticate` trusts a session seen live in the last `ttl` ms, for `max` sessions ([session cache](docs/sessions.md#the-session-cache)); `false` turns it off', 'must be false or an object { max, ttl }')
}, { additionalProperties: false })

export type OptionsInput = Static<typeof optionsSchema>
export type RouteRateLimit = Static<typeof routeRateLimitSchema>
export type RateLimitOptions = Static<typeof rateLimitSchema>
export type TrustedDevicesOptions = Static<typeof trustedDevicesSchema>
export type CookieOptions = Static<typeof cookieSchema>

/** Seconds in a duration option (seconds, or a string like '15m'), or undefined when it is not one. */
export const seconds = (value: unknown): number | undefined => {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : undefined
  return ms === undefined || !Number.isFinite(ms) || ms < 1000 ? undefined : Math.floor(ms / 1000)
}

export function testIdentityKey (identifier: string): string | undefined {
  return identifier.includes('@') ? normalizeEmail(identifier)?.value : looseE164(identifier)
}

/** Checks each option on its own; lib/options.ts checks how they go together. */
export const checkOptionValues = schemaChecker(optionsSchema, {
  invalid: (name, rule, shown) => `fastify-otp-login: option "${name}" ${rule}${shown === undefined ? '' : ` (got ${shown})`}`,
  unknown: (name) => `fastify-otp-login: unknown option "${name}"`,
  notObject: 'fastify-otp-login: options must be an object',
  errorName: 'OtpLoginOptionError'
}, {
  function: (value) => typeof value === 'function',
  country: (value) => typeof value === 'string' && isSupportedCountry(value),
  duration: (value) => seconds(value) !== undefined,
  timeWindow: (value) => {
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : undefined
    return ms !== undefined && Number.isFinite(ms) && ms >= 1
  },
  encryptionKeys: (value) => parseEncryptionKeys(value) !== undefined,
  identifier: (value) => typeof value === 'string' && testIdentityKey(value) !== undefined,
  origin: (value) => typeof value === 'string' && isOrigin(value),
  passkeys: (value) => typeof value !== 'object' || value === null || rpIdFits(value as PasskeysOptions)
})

/** Whether `rpId` is the host of every origin or a parent domain of it (what WebAuthn allows). */
function rpIdFits ({ rpId, origins }: PasskeysOptions): boolean {
  return Array.isArray(origins) && origins.every((origin) => {
    if (typeof origin !== 'string' || !isOrigin(origin)) return true // the origin's own rule reports it
    const host = new URL(origin).hostname
    return host === rpId || host.endsWith(`.${rpId}`)
  })
}

/** An http(s) origin exactly as a browser writes it in an `Origin` header (what `new URL(…).origin` gives). */
function isOrigin (value: string): boolean {
  try {
    return /^https?:\/\//.test(value) && new URL(value).origin === value
  } catch {
    return false
  }
}
