import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto'
import { randomId } from './fast-paths/random-pool.js'

// `<device id>.<expiry, Unix seconds>.<HMAC>`: verified by its HMAC alone, so trusted devices cost no storage
// until a device is used; the id names the device's own counters.
const tokenFormat = /^([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/

/**
 * Trusted devices (OWASP's "device cookies" against lockout abuse): a token that every successful sign-in
 * hands out, bound to the identifier it signed in, that lets that device ask for and check codes on counters
 * of its own. Whoever knows only the identifier can lock out new devices, never one the user already signed in on.
 */
export class DeviceTokens {
  private readonly key: KeyObject

  constructor (secret: string, private readonly ttlSeconds: number, private readonly now: () => number = Date.now) {
    // A key of its own, so a device token's HMAC is never also a code's.
    this.key = createSecretKey(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'fastify-otp-login device-token', 32)))
  }

  /** A new token for `identifier`; with `deviceId`, a fresh expiry for a device already known. */
  issue (identifier: string, deviceId = randomId(16)): string {
    // Rounded up: a token lives at least its ttl (rounded down, a 1 s token made late in a second lived 1 ms).
    const expires = Math.ceil(this.now() / 1000) + this.ttlSeconds
    return `${deviceId}.${expires}.${this.mac(identifier, deviceId, expires)}`
  }

  /** The device id of a valid, unexpired token for `identifier`; undefined for anything else, never a throw. */
  read (identifier: string, token: unknown): string | undefined {
    if (typeof token !== 'string') return undefined
    const match = tokenFormat.exec(token)
    if (match === null) return undefined
    const [, deviceId = '', expiresText = '', mac = ''] = match
    const expires = Number(expiresText)
    if (expires * 1000 <= this.now()) return undefined
    const expected = Buffer.from(this.mac(identifier, deviceId, expires))
    const given = Buffer.from(mac)
    return expected.length === given.length && timingSafeEqual(expected, given) ? deviceId : undefined
  }

  private mac (identifier: string, deviceId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${identifier}\n${deviceId}\n${expires}`).digest('base64url')
  }
}
