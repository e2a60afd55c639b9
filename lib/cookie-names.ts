import type { CookieOptions } from './options-schema.js'

/** Where cookie mode keeps the refresh and device tokens: the resolved `cookie` option. */
export interface ResolvedCookie {
  refreshName: string
  deviceName: string
  path: string
  domain: string | undefined
  sameSite: 'strict' | 'lax' | 'none'
  secure: boolean
}

/**
 * The cookies' names and places. By default `__Host-otp_refresh` and `__Host-otp_device` at `Path=/`: a browser
 * takes a `__Host-` cookie only Secure, host-only and at `/` from a secure page, so no sibling subdomain and no
 * page on http:// can plant one. Where that cannot apply (a `domain`, `secure: false`, a `path` other than `/`)
 * the names are `otp_refresh` and `otp_refresh_device` at the `prefix`, as before 0.2. A `name` of the host's own
 * is used as given (its device cookie `<name>_device`), at `/` when it starts with `__Host-`.
 */
export function resolveCookie (cookie: CookieOptions | false, prefix: string): ResolvedCookie | false {
  if (cookie === false) return false
  const secure = cookie.secure ?? true
  const hostPrefix = cookie.name === undefined
    ? secure && cookie.domain === undefined && (cookie.path === undefined || cookie.path === '/')
    : /^__host-/i.test(cookie.name)
  const names = cookie.name === undefined
    ? (hostPrefix ? { refreshName: '__Host-otp_refresh', deviceName: '__Host-otp_device' } : { refreshName: 'otp_refresh', deviceName: 'otp_refresh_device' })
    : { refreshName: cookie.name, deviceName: `${cookie.name}_device` }
  return {
    ...names,
    path: cookie.path ?? (hostPrefix || prefix === '' ? '/' : prefix),
    domain: cookie.domain,
    sameSite: cookie.sameSite ?? 'strict',
    secure
  }
}
