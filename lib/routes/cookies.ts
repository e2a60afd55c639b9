import { isIP } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { OriginNotAllowedError } from '../errors.js'
import type { ResolvedCookie } from '../options.js'
import type { TokenBody } from '../tokens.js'

/**
 * Cookie mode: the refresh token and the device token live in `HttpOnly` cookies, never in a response body, so
 * no page script (and no XSS) can read them. Access tokens stay bearer tokens. By default the cookies are
 * `__Host-` cookies (Secure, host-only, `Path=/`), which neither a sibling subdomain nor a page on http:// can
 * set, so neither can plant one beside ours (lib/options.ts chooses the names).
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
  /**
   * `onRequest` of the cookie-reading routes: a foreign `Origin` gets 403 (CSRF defence beside SameSite); then a
   * cookie of ours that came twice is cleared everywhere the answer can reach it (both copies are refused).
   */
  checkOrigin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

const maxHeader = 8192
const maxValue = 256
// Where a duplicate is cleared: the paths a request can fall under, and the parent domains of its host.
const maxPaths = 16
const maxDomains = 6

export function cookieJar (cookie: ResolvedCookie, refreshTtl: number | false, deviceTtl: number | false, allowedOrigins: ReadonlySet<string> | undefined): CookieJar {
  const attributes = { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite }
  const base = { ...attributes, path: cookie.path, ...(cookie.domain === undefined ? {} : { domain: cookie.domain }) }

  // Two cookies of one name (one planted by a sibling subdomain, say) are refused rather than guessed between.
  const read = (request: FastifyRequest, name: string): string | undefined => {
    const values = valuesOf(request, name)
    return values.length === 1 && values[0] !== undefined && values[0].length <= maxValue ? values[0] : undefined
  }

  const clearDuplicates = (request: FastifyRequest, reply: FastifyReply): void => {
    for (const name of [cookie.refreshName, cookie.deviceName]) {
      if (valuesOf(request, name).length < 2) continue
      request.log.warn(`fastify-otp-login: two cookies named ${name} (one planted?): both refused and cleared`)
      for (const place of clearingPlaces(name, request.url, request.hostname)) reply.clearCookie(name, { ...attributes, ...place })
    }
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
    checkOrigin: async (request, reply) => {
      const origin = request.headers.origin
      if (origin !== undefined && !(allowedOrigins !== undefined ? allowedOrigins.has(origin) : origin === ownOrigin(request))) {
        throw new OriginNotAllowedError()
      }
      clearDuplicates(request, reply)
    }
  }
}

/** The values of every cookie called `name` in the request's Cookie header (none when it is over-long). */
function valuesOf (request: FastifyRequest, name: string): string[] {
  const header = request.headers.cookie
  if (typeof header !== 'string' || header.length > maxHeader) return []
  const values: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && trimSpaces(part.slice(0, eq)) === name) values.push(trimSpaces(part.slice(eq + 1)))
  }
  return values
}

/**
 * `text` without the spaces and tabs around it, and nothing else (RFC 6265, 5.2): `trim()` also strips U+00A0 and
 * other Unicode spaces, which would read a cookie named `\u00a0__Host-otp_refresh`, to a browser an unprefixed
 * name that a sibling subdomain can set, as the `__Host-` cookie. A loop, not a regular expression: a header of
 * 8 KiB of spaces must not take quadratic time.
 */
function trimSpaces (text: string): string {
  let start = 0
  let end = text.length
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start++
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--
  return text.slice(start, end)
}

/**
 * Without `allowedOrigins`: the origin the request was sent to, as a browser writes an `Origin` header: the
 * scheme (`request.protocol`, which reads `X-Forwarded-Proto` only with Fastify's `trustProxy`), the host and the
 * port (the default one left out). The header must be exactly this: an Origin that merely contains the host, or
 * has another scheme or port, is another origin.
 */
export function ownOrigin (request: FastifyRequest): string | undefined {
  const { protocol, host } = request
  if ((protocol !== 'http' && protocol !== 'https') || !/^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$/.test(host)) return undefined
  try {
    return new URL(`${protocol}://${host}`).origin
  } catch {
    return undefined
  }
}

/**
 * Every place a cookie sent with this request can have been set at, so that a clearing `Set-Cookie` reaches each
 * copy: a browser sends a cookie only to paths under its `Path`, so its path is `/` or a prefix of the request's
 * path (with or without the slash after it); it is host-only or has a `Domain` of the host or of a parent of it
 * (where a sibling subdomain plants one). A `__Host-` cookie can only be host-only at `/`.
 */
export function clearingPlaces (name: string, url: string, hostname: string): Array<{ path: string, domain?: string }> {
  if (name.toLowerCase().startsWith('__host-')) return [{ path: '/' }]
  const path = url.split(/[?#]/, 1)[0] ?? '/'
  const paths = new Set(['/'])
  for (let slash = path.indexOf('/', 1); slash !== -1 && paths.size < maxPaths; slash = path.indexOf('/', slash + 1)) {
    paths.add(path.slice(0, slash))
    paths.add(path.slice(0, slash + 1))
  }
  if (path.startsWith('/')) paths.add(path)
  const host = hostname.toLowerCase()
  const domains: Array<string | undefined> = [undefined]
  if (/^[a-z0-9.-]+$/.test(host) && isIP(host) === 0) {
    // From the shortest parent up, at most six: a long made-up Host header must not make hundreds of headers.
    const labels = host.split('.')
    for (let i = labels.length - 2; i >= 0 && domains.length <= maxDomains; i--) domains.push(labels.slice(i).join('.'))
  }
  return domains.flatMap((domain) => [...paths].map((p) => domain === undefined ? { path: p } : { path: p, domain }))
}
