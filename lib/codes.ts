import { createHmac, randomInt } from 'node:crypto'

/** A uniformly random code of `length` digits (leading zeros kept), from the CSPRNG. */
export function generateCode (length: number): string {
  return randomInt(0, 10 ** length).toString().padStart(length, '0')
}

/** What a store keeps instead of a code: bound to its identifier, useless without the secret. */
export function hashCode (secret: string, identifier: string, code: string): string {
  return createHmac('sha256', secret).update(`${identifier}:${code}`).digest('base64url')
}

/**
 * `hashCode` under the routes' secret. The secret is not prepared as a KeyObject: that saved under 0.2 µs of a
 * 1.5 µs HMAC, 0.1% of a login's server CPU, too little for `npm run bench` to show (docs/performance.md).
 */
export function codeHasher (secret: string): (identifier: string, code: string) => string {
  return (identifier, code) => hashCode(secret, identifier, code)
}
