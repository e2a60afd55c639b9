import { randomBytes } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import QRCode from 'qrcode'

// What every authenticator app supports: SHA-1, 6 digits, 30-second steps (RFC 6238's defaults).
const params = { algorithm: 'SHA1', digits: 6, period: 30 } as const
/** Steps of clock drift accepted either way. */
const drift = 1

// A copy: a small Node Buffer may be a view into a larger shared pool, and Secret takes a whole ArrayBuffer.
const asSecret = (bytes: Buffer): Secret => new Secret({ buffer: Uint8Array.from(bytes).buffer })

/** A new 160-bit secret (RFC 4226 recommends at least 128 bits, and 160 matches SHA-1's output). */
export function newSecret (): Buffer {
  return randomBytes(20)
}

export function base32 (secret: Buffer): string {
  return asSecret(secret).base32
}

/** The `otpauth://totp/Issuer:account?secret=…&issuer=…` URL an authenticator app scans. */
export function otpauthUrl (secret: Buffer, issuer: string, account: string): string {
  return new TOTP({ ...params, issuer, label: account, secret: asSecret(secret) }).toString()
}

/** The QR code of `url` as an SVG data URL, for an `<img src>`. */
export async function qrCode (url: string): Promise<string> {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
}

/** The time step at `now` (milliseconds), the counter of RFC 6238. */
export function stepAt (now: number): number {
  return TOTP.counter({ period: params.period, timestamp: now })
}

/**
 * The time step whose code `token` is, within one step of `now` either way, or undefined. The step, not a
 * yes/no, so the caller can refuse a step already used.
 */
export function matchStep (secret: Buffer, token: string, now: number): number | undefined {
  const delta = TOTP.validate({ ...params, token, secret: asSecret(secret), timestamp: now, window: drift })
  return delta === null ? undefined : stepAt(now) + delta
}
