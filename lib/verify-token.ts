import createError from '@fastify/error'
import type { FastifyJWTOptions, JWT } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { ExpiringMap } from './expiring-map.js'

/** @fastify/jwt's code for a token it cannot accept; every malformed, foreign or wrongly signed token gets it. */
export const TokenInvalidError = createError('FST_JWT_AUTHORIZATION_TOKEN_INVALID', 'Authorization token is invalid', 401)

/** Verifies the request's access token and sets `request.user`, or throws a 400/401 with a `FST_JWT_…` code. */
export type VerifyAccessToken = (request: FastifyRequest) => Promise<void>

/**
 * The options for the @fastify/jwt the plugin registers from its `jwt` option. With an HMAC secret (and no
 * `sign.algorithm`) the algorithm is set to HS256 rather than left to fast-jwt, which picks it from a cache
 * keyed by the secret that any other signer in the process may have filled (HS512 for the same secret, say).
 * Verification is pinned to the algorithm when it is known here; a key pair is pinned by `accessTokenVerifier`.
 */
export function ownJwtOptions (jwt: FastifyJWTOptions, expiresIn: string): FastifyJWTOptions {
  const secret = jwt.secret
  const hmacSecret = (typeof secret === 'string' || Buffer.isBuffer(secret)) && !secret.toString().includes('-----BEGIN')
  const algorithm = jwt.sign?.algorithm ?? (hmacSecret ? 'HS256' : undefined)
  // fast-jwt's cache of verified tokens (1000 by default): a token seen moments ago is not verified again. It
  // keeps an entry no longer than the token's `exp`, and the session check after it still runs every time.
  const verify = { cache: true, ...jwt.verify }
  if (algorithm === undefined) return { ...jwt, sign: { ...jwt.sign, expiresIn }, verify }
  return { ...jwt, sign: { ...jwt.sign, algorithm, expiresIn }, verify: { ...verify, algorithms: [algorithm] } }
}

/**
 * The algorithm `jwt` signs with: its `sign.algorithm`, else what its signer (made once at registration)
 * writes in a token's header. Throws when neither tells, e.g. a secret callback without `sign.algorithm`.
 */
export function signingAlgorithm (jwt: JWT): string {
  let algorithm: unknown = jwt.options.sign.algorithm
  if (algorithm === undefined) {
    let probe: unknown
    try {
      probe = jwt.sign({ sub: 'fastify-otp-login:probe' })
    } catch (err) {
      probe = err
    }
    // A secret callback makes fast-jwt's signer asynchronous: its promise is dropped, quietly.
    if (typeof (probe as { then?: unknown } | null)?.then === 'function') (probe as Promise<unknown>).then(undefined, () => {})
    algorithm = typeof probe === 'string' ? headerOf(probe)?.alg : undefined
    if (typeof algorithm !== 'string') {
      throw new Error('fastify-otp-login: cannot tell which algorithm the registered @fastify/jwt signs with ' +
        `(${probe instanceof Error ? probe.message : 'its signer did not return a token'}); set its "sign.algorithm" option`)
    }
  }
  if (typeof algorithm !== 'string' || algorithm === 'none') {
    throw new Error(`fastify-otp-login: @fastify/jwt must sign with a real algorithm (got ${String(algorithm)})`)
  }
  return algorithm
}

/**
 * The one check every authenticated path makes (`app.authenticate`, `/logout`): @fastify/jwt's verifier,
 * pinned to the algorithm the plugin signs with, then the payload's shape (a plain object with a string
 * `sub`, and numeric times). Every failure is a 400 or 401 with a `FST_JWT_…` code, never a 500 and never an
 * error-level log line: a bad token is the client's mistake. @fastify/jwt's own 400/401 codes are kept;
 * anything else it lets through (fast-jwt's `FAST_JWT_…` errors, for `alg: RS256` against an HMAC key, a
 * payload that is not an object, `nbf` in the future) becomes `FST_JWT_AUTHORIZATION_TOKEN_INVALID`.
 */
export function accessTokenVerifier (jwt: JWT, direct = false): VerifyAccessToken {
  const algorithm = signingAlgorithm(jwt)
  // A host's @fastify/jwt accepts every algorithm of its key's family, and its verifier is built once at its
  // registration: the header is checked here instead of building a pinned verifier per request.
  const algorithms = jwt.options.verify.algorithms
  const checkHeader = !(algorithms?.length === 1 && algorithms[0] === algorithm)
  const verifyDirectly = direct && !checkHeader ? directVerifier(jwt) : undefined

  return async function verifyAccessToken (request: FastifyRequest): Promise<void> {
    if (verifyDirectly?.(request) !== true) {
      try {
        if (checkHeader && headerOf(jwt.lookupToken(request))?.alg !== algorithm) throw new TokenInvalidError()
        await request.jwtVerify()
      } catch (err) {
        throw asTokenError(err, request)
      }
    }
    const user: unknown = request.user
    if (!isPlainObject(user) || typeof user.sub !== 'string' || user.sub === '' || !timesAreNumbers(user)) {
      (request as { user: unknown }).user = null
      throw new TokenInvalidError()
    }
  }
}

/**
 * For `direct` (see directVerifiable): the verifier @fastify/jwt built at registration, pinned and with its
 * cache, checks the token without request.jwtVerify()'s per-call work (options merged, the token decoded once
 * more, a waterfall of callbacks), and tokens it accepted are kept. True when it set `request.user`; false for
 * any failure, which then goes through request.jwtVerify() for the same error as ever.
 */
function directVerifier (jwt: JWT): (request: FastifyRequest) => boolean {
  const verified = VerifiedTokens.from(jwt.options.verify as Record<string, unknown>)
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

  private constructor (max: number, private readonly ttlMs: number) {
    this.entries = new ExpiringMap(max)
  }

  /** None without fast-jwt's cache, or with a verify option that moves the time bounds (those stay fast-jwt's). */
  static from (options: Record<string, unknown> | undefined): VerifiedTokens | undefined {
    const size = options?.cache === true ? 1000 : typeof options?.cache === 'number' ? options.cache : 0
    // maxAge counts even at 0 (a real bound for fast-jwt); the others only when they change anything.
    if (options?.maxAge !== undefined) return undefined
    const timeOptions = ['clockTimestamp', 'clockTolerance', 'ignoreExpiration', 'ignoreNotBefore']
    if (timeOptions.some((name) => options?.[name] !== undefined && options[name] !== false && options[name] !== 0)) return undefined
    const ttl = typeof options?.cacheTTL === 'number' ? options.cacheTTL : 600_000
    return size > 0 ? new VerifiedTokens(size, ttl) : undefined
  }

  get size (): number {
    return this.entries.size
  }

  get (token: string): Record<string, unknown> | undefined {
    return this.entries.get(token)
  }

  add (token: string, claims: Record<string, unknown>): void {
    const exp = claims.exp
    let until = Date.now() + this.ttlMs
    if (typeof exp === 'number') until = Math.min(until, exp * 1000)
    this.entries.set(token, claims, until)
  }
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

function asTokenError (err: unknown, request: FastifyRequest): unknown {
  const { code, statusCode } = (err ?? {}) as { code?: unknown, statusCode?: unknown }
  if (typeof code === 'string' && code.startsWith('FST_JWT_') && (statusCode === 400 || statusCode === 401)) return err
  // Not the token's fault as far as fast-jwt can tell: a host's secret or `trusted` callback threw. Still a
  // 401 (fail closed), but worth a look.
  if (!(typeof code === 'string' && code.startsWith('FAST_JWT_'))) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    request.log.warn({ reason }, 'fastify-otp-login: access token refused after an unexpected error')
  }
  return new TokenInvalidError()
}

// fast-jwt checks the types of `exp` and `nbf`, not of `iat` (unless `maxAge` is set); the plugin signs all three as numbers.
const timesAreNumbers = (claims: Record<string, unknown>): boolean =>
  ['iat', 'exp', 'nbf'].every((name) => claims[name] === undefined || Number.isFinite(claims[name]))

/** A token's JOSE header, or undefined when it is not a base64url JSON object. */
function headerOf (token: string): Record<string, unknown> | undefined {
  const end = token.indexOf('.')
  if (end <= 0) return undefined
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString())
    return isPlainObject(header) ? header : undefined
  } catch {
    return undefined
  }
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
