// Fast path: app.authenticate checks a token with the verifier of the plugin's own @fastify/jwt registration
// (`app.jwt.verify`) instead of `request.jwtVerify()`, and keeps the tokens it accepted by their exact text.
// Pays: GET /me on RedisStore went from 0.99 to 1.55 × plain `request.jwtVerify()` (server CPU 50 against 82 µs
// per request, bench/results.md of 2026-11-29); timed alone, a kept token costs 0.1 µs against 4.2 µs through
// fast-jwt's cache and 10.0 µs verified in full. The bench's "5,000 users' tokens" row is its worst case: every
// token missed, and fast-jwt's cache, which was on behind the kept tokens, took a miss from 5.6 to 11.2 µs (timed
// alone, 2026-12-05), so it is off where tokens are kept here (the parts table times both).
// The plain path, lib/verify-token.ts, still checks a host's own @fastify/jwt, a key callback, any jwt option
// beyond secret/sign/verify/cookie, a header that needs its algorithm checked, and every refused token (for its
// error code); kept tokens are off without `verify.cache` and with options that move the time bounds.
import type { FastifyJWTOptions, JWT } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { ExpiringMap } from './expiring-map.js'

/**
 * For the plugin's own registration (see directVerifiable): the verifier @fastify/jwt built at registration,
 * pinned, checks the token without request.jwtVerify()'s per-call work (options merged, the token decoded once
 * more, a waterfall of callbacks), and tokens it accepted are kept in `verified`. True when it set
 * `request.user`; false for any failure, which then goes through request.jwtVerify() for the same error as ever.
 */
export function directVerifier (jwt: JWT, verified: VerifiedTokens | undefined): (request: FastifyRequest) => boolean {
  return (request) => {
    try {
      const token = jwt.lookupToken(request)
      let claims = verified?.get(token)
      if (claims === undefined) {
        const result: unknown = jwt.verify(token)
        // Only a plain object is an answer here (a key callback would make it a promise).
        if (!isPlainObject(result)) {
          if (typeof (result as { then?: unknown } | null)?.then === 'function') (result as Promise<unknown>).then(undefined, () => {})
          return false
        }
        claims = result
        verified?.add(token, claims)
      }
      // A copy of the claims object (shallow): a handler that sets a field of request.user sets it for this
      // request only.
      (request as { user: unknown }).user = { ...claims }
      return true
    } catch {
      return false
    }
  }
}

/**
 * Tokens the registration's verifier accepted, by their exact text, so that a client's next request with the
 * same token costs a Map lookup instead of a verification (fast-jwt's own cache finds a token by a SHA-512 of
 * it, about 40% of what verifying an HS256 token costs). At most `verify.cache` entries (1000 for `true`), the
 * oldest out first; an entry lasts `verify.cacheTTL` (10 minutes by default) and never past the token's `exp`.
 * Not used with `maxAge` or the other options that move the time bounds. A token's text fixes its signature
 * and claims, so the same text verifies the same way until a time bound passes.
 */
export class VerifiedTokens {
  private readonly entries: ExpiringMap<Record<string, unknown>>

  private constructor (max: number, private readonly ttlMs: number, private readonly now: () => number) {
    this.entries = new ExpiringMap(max, now)
  }

  /** None without `verify.cache`, or with a verify option that moves the time bounds (those stay fast-jwt's). */
  static from (options: Record<string, unknown> | undefined, now: () => number = Date.now): VerifiedTokens | undefined {
    const size = options?.cache === true ? 1000 : typeof options?.cache === 'number' ? options.cache : 0
    // maxAge counts even at 0 (a real bound for fast-jwt); the others only when they change anything.
    if (options?.maxAge !== undefined) return undefined
    const timeOptions = ['clockTimestamp', 'clockTolerance', 'ignoreExpiration', 'ignoreNotBefore']
    if (timeOptions.some((name) => options?.[name] !== undefined && options[name] !== false && options[name] !== 0)) return undefined
    const ttl = typeof options?.cacheTTL === 'number' ? options.cacheTTL : 600_000
    return size > 0 ? new VerifiedTokens(size, ttl, now) : undefined
  }

  get size (): number {
    return this.entries.size
  }

  get (token: string): Record<string, unknown> | undefined {
    return this.entries.get(token)
  }

  add (token: string, claims: Record<string, unknown>): void {
    const exp = claims.exp
    let until = this.now() + this.ttlMs
    if (typeof exp === 'number') until = Math.min(until, exp * 1000)
    this.entries.set(token, claims, until)
  }
}

/** The verify options of the plugin's own registration: its `jwt.verify`, with `cache` on unless it says otherwise. */
export function verifyOptions (jwt: FastifyJWTOptions): NonNullable<FastifyJWTOptions['verify']> {
  return { cache: true, ...jwt.verify }
}

/**
 * The tokens app.authenticate keeps with `jwt`, the plugin's own registration's options, or none (a registration
 * it does not verify directly, no `verify.cache`, an option that moves the time bounds). Sized by `verify.cache`:
 * with these, fast-jwt's own cache is off (lib/verify-token.ts, ownJwtOptions).
 */
export function keptTokens (jwt: FastifyJWTOptions): VerifiedTokens | undefined {
  return directVerifiable(jwt) ? VerifiedTokens.from(verifyOptions(jwt)) : undefined
}

/**
 * Whether app.authenticate may use the verifier of the plugin's own @fastify/jwt registration directly: only
 * with the options that leave request.jwtVerify() a plain lookup and verification (a fixed secret; no
 * `trusted`, `formatUser`, decoder options, messages or renamed decorators).
 */
export function directVerifiable (jwt: FastifyJWTOptions): boolean {
  const plain = new Set(['secret', 'sign', 'verify', 'cookie'])
  const secret: unknown = jwt.secret
  // A key callback, alone or in `{ private, public }`, is @fastify/jwt's to call (with the request).
  const keyCallback = typeof secret === 'function' || (typeof secret === 'object' && secret !== null && !Buffer.isBuffer(secret) &&
    Object.values(secret).some((key) => typeof key === 'function'))
  return !keyCallback && Object.entries(jwt).every(([name, value]) => plain.has(name) || value === undefined)
}

// As verify-token.ts checks claims; a copy, so that the fast path needs nothing from the path it stands in front of.
function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
