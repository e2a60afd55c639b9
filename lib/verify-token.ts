import createError from '@fastify/error'
import type { FastifyJWTOptions, JWT } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { directVerifiable, directVerifier, keptTokens, verifyOptions } from './fast-paths/verified-tokens.js'

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
  const verify = verifyOptions(jwt)
  if (algorithm === undefined) return { ...jwt, sign: { ...jwt.sign, expiresIn }, verify }
  // Pinned, app.authenticate keeps the tokens it accepted (fast-paths/verified-tokens.ts): fast-jwt's cache behind
  // it would only see the tokens it does not keep, and a miss there costs more than the verification itself.
  const cache = keptTokens(jwt) === undefined ? verify.cache : false
  return { ...jwt, sign: { ...jwt.sign, algorithm, expiresIn }, verify: { ...verify, cache, algorithms: [algorithm] } }
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
 * `own`: the options of the plugin's own registration, for the fast path of fast-paths/verified-tokens.ts, which
 * then answers first where it applies; what it cannot answer comes here.
 */
export function accessTokenVerifier (jwt: JWT, own?: FastifyJWTOptions): VerifyAccessToken {
  const algorithm = signingAlgorithm(jwt)
  // A host's @fastify/jwt accepts every algorithm of its key's family, and its verifier is built once at its
  // registration: the header is checked here instead of building a pinned verifier per request.
  const algorithms = jwt.options.verify.algorithms
  const checkHeader = !(algorithms?.length === 1 && algorithms[0] === algorithm)
  const verifyDirectly = own !== undefined && directVerifiable(own) && !checkHeader ? directVerifier(jwt, keptTokens(own)) : undefined

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
