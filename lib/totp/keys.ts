import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Reads `totpEncryptionKey`: 32 bytes as 64 hex digits or as base64 (or base64url). Undefined when it is not
 * exactly that, so a short or mistyped key fails startup instead of weakening the encryption.
 */
export function parseEncryptionKey (value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex')
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return undefined
  const key = Buffer.from(value, 'base64')
  return key.length === 32 ? key : undefined
}

/** Keys at most in a `totpEncryptionKey` list: each failed open costs one decryption. */
export const maxEncryptionKeys = 8

/**
 * Reads `totpEncryptionKey`, one key or a non-empty list of at most `maxEncryptionKeys` (newest first, no key
 * twice): the keys, or undefined when one of them is not a key.
 */
export function parseEncryptionKeys (value: unknown): Buffer[] | undefined {
  const list: unknown[] = Array.isArray(value) ? value : [value]
  if (list.length === 0 || list.length > maxEncryptionKeys) return undefined
  const keys: Buffer[] = []
  for (const item of list) {
    const key = typeof item === 'string' ? parseEncryptionKey(item) : undefined
    if (key === undefined || keys.some((k) => k.equals(key))) return undefined
    keys.push(key)
  }
  return keys
}

/** A key for one purpose, so the encryption key is never also an HMAC key. */
export function deriveKey (master: Buffer, purpose: 'totp-secret' | 'recovery-code'): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `fastify-otp-login ${purpose}`, 32))
}

const version = 'v1'

/**
 * AES-256-GCM with a random 96-bit IV per secret. The identifier is authenticated data: a secret copied onto
 * another identifier's record does not decrypt, so a database-level swap cannot move an authenticator.
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>`, base64url.
 */
export class SecretBox {
  constructor (private readonly key: Buffer) {}

  seal (identifier: string, plaintext: Buffer): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(identifier))
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return [version, iv, cipher.getAuthTag(), ciphertext].map((part) => typeof part === 'string' ? part : part.toString('base64url')).join('.')
  }

  /** Throws when the sealed text was altered, belongs to another identifier or was sealed under another key. */
  open (identifier: string, sealed: string): Buffer {
    const [v, iv, tag, ciphertext] = sealed.split('.')
    if (v !== version || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('fastify-otp-login: a stored TOTP secret is not in the expected format')
    }
    try {
      const ivBytes = Buffer.from(iv, 'base64url')
      const tagBytes = Buffer.from(tag, 'base64url')
      // Node accepts shorter tags, which would make forging a record far cheaper: only the full 16 bytes do.
      if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error('bad IV or tag length')
      const decipher = createDecipheriv('aes-256-gcm', this.key, ivBytes, { authTagLength: 16 })
        .setAAD(Buffer.from(identifier))
        .setAuthTag(tagBytes)
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
    } catch {
      throw new Error(undecryptable)
    }
  }
}

const undecryptable = 'fastify-otp-login: a stored TOTP secret could not be decrypted (was it encrypted under another totpEncryptionKey?)'

/**
 * The boxes of every `totpEncryptionKey`, newest first: seals under the newest, opens under whichever key sealed
 * (the sealed form names no key: a wrong key fails GCM's tag check, so each older key costs one try).
 */
export class KeyRing {
  private readonly boxes: SecretBox[]

  constructor (masters: readonly Buffer[]) {
    this.boxes = masters.map((master) => new SecretBox(deriveKey(master, 'totp-secret')))
  }

  seal (identifier: string, plaintext: Buffer): string {
    return (this.boxes[0] as SecretBox).seal(identifier, plaintext)
  }

  /** The secret, and whether the newest key sealed it (if not, it is due to be sealed again). */
  open (identifier: string, sealed: string): { secret: Buffer, newest: boolean } {
    for (const [i, box] of this.boxes.entries()) {
      try {
        return { secret: box.open(identifier, sealed), newest: i === 0 }
      } catch (err) {
        // Not in the format: no other key will do better.
        if (!(err instanceof Error) || err.message !== undecryptable) throw err
      }
    }
    throw new Error(undecryptable)
  }
}
