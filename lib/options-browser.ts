import type { CaptchaOptions } from './captcha.js'

/** `cookie`: the refresh (and device) token in cookies instead of response bodies, for browser apps. */
export interface CookieOptions {
  /** The refresh cookie's name (default `'otp_refresh'`); the device cookie is this plus `_device`. */
  name?: string
  /** Default: the plugin's `prefix` (or `/` without one), so the cookies go only to the plugin's routes. */
  path?: string
  /** Default: none, a host-only cookie. */
  domain?: string
  /** Default `'strict'`. */
  sameSite?: 'strict' | 'lax' | 'none'
  /** Default `true`; browsers accept Secure cookies from http://localhost and http://127.0.0.1 too. */
  secure?: boolean
}

export interface ResolvedCookie {
  refreshName: string
  deviceName: string
  path: string
  domain: string | undefined
  sameSite: 'strict' | 'lax' | 'none'
  secure: boolean
}

export interface BrowserOptionsInput {
  prefix?: unknown
  cookie?: unknown
  allowedOrigins?: unknown
  captcha?: unknown
}

type Fail = (name: string, rule: string, value: unknown) => never

const cookieName = /^[A-Za-z0-9_-]{1,64}$/
const originFormat = /^https?:\/\/[^/\s?#]+$/

/** Checks `cookie`, `allowedOrigins` and `captcha`, calling `fail` (which throws) for the first wrong one. */
export function checkBrowserOptions (o: BrowserOptionsInput, fail: Fail): void {
  if (o.cookie !== undefined && o.cookie !== false) {
    const cookie = o.cookie as Record<string, unknown> | null
    if (cookie === null || typeof cookie !== 'object' || Array.isArray(cookie)) fail('cookie', 'must be false or an object { name, path, domain, sameSite, secure }', cookie)
    for (const key of Object.keys(cookie)) {
      if (!['name', 'path', 'domain', 'sameSite', 'secure'].includes(key)) throw new Error(`fastify-otp-login: unknown option "cookie.${key}"`)
    }
    if (cookie.name !== undefined && (typeof cookie.name !== 'string' || !cookieName.test(cookie.name))) fail('cookie.name', 'must be 1 to 64 letters, digits, - or _', cookie.name)
    if (cookie.path !== undefined && (typeof cookie.path !== 'string' || !/^\/[^;\s]*$/.test(cookie.path))) fail('cookie.path', 'must be a path starting with /', cookie.path)
    if (cookie.domain !== undefined && (typeof cookie.domain !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(cookie.domain))) fail('cookie.domain', 'must be a host name', cookie.domain)
    if (cookie.sameSite !== undefined && cookie.sameSite !== 'strict' && cookie.sameSite !== 'lax' && cookie.sameSite !== 'none') fail('cookie.sameSite', "must be 'strict', 'lax' or 'none'", cookie.sameSite)
    if (cookie.secure !== undefined && typeof cookie.secure !== 'boolean') fail('cookie.secure', 'must be a boolean', cookie.secure)
    if (cookie.sameSite === 'none' && cookie.secure === false) fail('cookie.secure', "must be true with sameSite 'none' (browsers refuse such cookies otherwise)", cookie.secure)
  }
  if (o.allowedOrigins !== undefined) {
    if (o.cookie === undefined || o.cookie === false) fail('allowedOrigins', 'needs "cookie": it guards the routes that read the session cookie', o.allowedOrigins)
    const origins = o.allowedOrigins
    if (!Array.isArray(origins) || origins.length === 0) fail('allowedOrigins', "must be a non-empty array of origins like 'https://app.example.com'", origins)
    for (const origin of origins) {
      if (typeof origin !== 'string' || !originFormat.test(origin)) fail('allowedOrigins', "must hold origins like 'https://app.example.com' (scheme and host, no path)", origin)
    }
  }
  if (o.captcha !== undefined) checkCaptcha(o.captcha, fail)
}

function checkCaptcha (value: unknown, fail: Fail): void {
  const captcha = value as Record<string, unknown> | null
  if (captcha === null || typeof captcha !== 'object' || Array.isArray(captcha)) {
    fail('captcha', "must be { provider: 'turnstile' | 'hcaptcha', secret } or { verify }", captcha)
  }
  if (captcha.skipTrustedDevices !== undefined && typeof captcha.skipTrustedDevices !== 'boolean') fail('captcha.skipTrustedDevices', 'must be a boolean', captcha.skipTrustedDevices)
  if ('verify' in captcha) {
    for (const key of Object.keys(captcha)) {
      if (key !== 'verify' && key !== 'skipTrustedDevices') throw new Error(`fastify-otp-login: option "captcha.${key}" does not go with "captcha.verify"`)
    }
    if (typeof captcha.verify !== 'function') fail('captcha.verify', 'must be a function (token, request) => boolean', captcha.verify)
    return
  }
  for (const key of Object.keys(captcha)) {
    if (!['provider', 'secret', 'siteverifyUrl', 'timeout', 'skipTrustedDevices'].includes(key)) throw new Error(`fastify-otp-login: unknown option "captcha.${key}"`)
  }
  if (captcha.provider !== 'turnstile' && captcha.provider !== 'hcaptcha') fail('captcha.provider', "must be 'turnstile' or 'hcaptcha' (or give captcha.verify)", captcha.provider)
  if (typeof captcha.secret !== 'string' || captcha.secret === '') {
    fail('captcha.secret', "is required: the provider's secret key", typeof captcha.secret === 'string' ? 'an empty string' : typeof captcha.secret)
  }
  if (captcha.siteverifyUrl !== undefined && (typeof captcha.siteverifyUrl !== 'string' || !/^https?:\/\//.test(captcha.siteverifyUrl))) {
    fail('captcha.siteverifyUrl', 'must be an http(s) URL', captcha.siteverifyUrl)
  }
  const timeout = captcha.timeout
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 100 || timeout > 60_000)) {
    fail('captcha.timeout', 'must be an integer from 100 to 60000 (milliseconds)', timeout)
  }
}

export function resolveCookie (cookie: CookieOptions | false | undefined, prefix: string): ResolvedCookie | false {
  if (cookie === undefined || cookie === false) return false
  const name = cookie.name ?? 'otp_refresh'
  return {
    refreshName: name,
    deviceName: `${name}_device`,
    path: cookie.path ?? (prefix === '' ? '/' : prefix),
    domain: cookie.domain,
    sameSite: cookie.sameSite ?? 'strict',
    secure: cookie.secure ?? true
  }
}

export type { CaptchaOptions }
