import { createHmac, randomInt } from 'node:crypto'

// Crockford's base32: no I, L, O or U, so a code read off paper is hard to mistype.
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
const count = 10
const length = 10

/** Ten single-use codes of 50 random bits each, shown as `xxxxx-xxxxx`. */
export function newRecoveryCodes (): string[] {
  return Array.from({ length: count }, () => {
    const code = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('')
    return `${code.slice(0, 5)}-${code.slice(5)}`
  })
}

/** A code as typed (any case, with or without the dash or spaces, I/L for 1, O for 0), or undefined. */
function normalize (input: string): string | undefined {
  const code = input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0')
  return code.length === length && [...code].every((c) => alphabet.includes(c)) ? code : undefined
}

/**
 * What the store keeps instead of a recovery code: HMAC-SHA256 under a key of the plugin's, bound to the
 * identifier. Looked up by equality, so no code is ever compared character by character. Undefined for input
 * that cannot be a recovery code.
 */
export function hashRecoveryCode (key: Buffer, identifier: string, input: string): string | undefined {
  const code = normalize(input)
  return code && createHmac('sha256', key).update(`${identifier}:${code}`).digest('base64url')
}
