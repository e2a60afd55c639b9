import { createHmac, createSecretKey, randomInt, type KeyObject } from 'node:crypto'

/** A uniformly random code of `length` digits (leading zeros kept), from the CSPRNG. */
export function generateCode (length: number): string {
  return randomInt(0, 10 ** length).toString().padStart(length, '0')
}

/** What a store keeps instead of a code: bound to its identifier, useless without the secret. */
export function hashCode (secret: string | KeyObject, identifier: string, code: string): string {
  return createHmac('sha256', secret).update(`${identifier}:${code}`).digest('base64url')
}

/** `hashCode` with the secret prepared once (a KeyObject), for the routes that hash a code on every request. */
export function codeHasher (secret: string): (identifier: string, code: string) => string {
  const key = createSecretKey(Buffer.from(secret))
  return (identifier, code) => hashCode(key, identifier, code)
}
