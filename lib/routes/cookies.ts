import type { FastifyReply, FastifyRequest } from 'fastify'
import { OriginNotAllowedError } from '../errors.js'
import type { ResolvedCookie } from '../options.js'
import type { TokenBody } from '../tokens.js'

/**
 * Cookie mode: the refresh token and the device token live in `HttpOnly` cookies scoped to the plugin's routes,
 * never in a response body, so no page script (and no XSS) can read them. Access tokens stay bearer tokens.
 */
export interface CookieJar {
  /** The refresh cookie; undefined when there is none, or more than one (which one is ours cannot be told). */
  refreshToken: (request: FastifyRequest) => string | undefined
  deviceToken: (request: FastifyRequest) => string | undefined
  /** Moves the refresh and device tokens of a sign-in or refresh out of the body into cookies. */
  store: (reply: FastifyReply, body: TokenBody) => TokenBody
  /** Ends the refresh cookie (one that no longer opens a session). */
  clearRefresh: (reply: FastifyReply) => void
  /** Ends both cookies (a logout). */
  clearAll: (reply: FastifyReply) => void
  /** `onRequest` of the cookie-reading routes: a foreign `Origin` gets 403 (CSRF defence beside SameSite). */
  checkOrigin: (request: FastifyRequest) => Promise<void>
}

export function cookieJar (cookie: ResolvedCookie, refreshTtl: number | false, deviceTtl: number | false, allowedOrigins: ReadonlySet<string> | undefined): CookieJar {
  const base = { path: cookie.path, httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, ...(cookie.domain === undefined ? {} : { domain: cookie.domain }) }

  // Two cookies of one name (one planted by a sibling subdomain, say) are refused rather than guessed between.
  const read = (request: FastifyRequest, name: string): string | undefined => {
    const header = request.headers.cookie
    if (typeof header !== 'string' || header.length > 8192) return undefined
    let found: string | undefined
    let count = 0
    for (const part of header.split(';')) {
      const eq = part.indexOf('=')
      if (eq === -1 || part.slice(0, eq).trim() !== name) continue
      count++
      found = part.slice(eq + 1).trim()
    }
    return count === 1 && found !== undefined && found.length <= 256 ? found : undefined
  }

  return {
    refreshToken: (request) => read(request, cookie.refreshName),
    deviceToken: (request) => read(request, cookie.deviceName),
    store: (reply, body) => {
      const { refresh, deviceToken, ...rest } = body
      if (refresh !== undefined && refreshTtl !== false) reply.setCookie(cookie.refreshName, refresh, { ...base, maxAge: refreshTtl })
      if (deviceToken !== undefined && deviceTtl !== false) reply.setCookie(cookie.deviceName, deviceToken, { ...base, maxAge: deviceTtl })
      return rest
    },
    clearRefresh: (reply) => { reply.clearCookie(cookie.refreshName, base) },
    clearAll: (reply) => {
      reply.clearCookie(cookie.refreshName, base)
      reply.clearCookie(cookie.deviceName, base)
    },
    checkOrigin: async (request) => {
      const origin = request.headers.origin
      if (origin === undefined) return
      if (allowedOrigins !== undefined ? allowedOrigins.has(origin) : sameHost(origin, request.headers.host)) return
      throw new OriginNotAllowedError()
    }
  }
}

/** Without `allowedOrigins`: the page must come from the host the request went to. */
function sameHost (origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host
  } catch {
    return false
  }
}
