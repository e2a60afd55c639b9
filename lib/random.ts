import { randomFillSync } from 'node:crypto'

// randomBytes() is a call into OpenSSL each time (about 8 µs here, three times per sign-in). Random ids come
// instead from a pool that the same CSPRNG fills 4 KiB at a time, the way Node's own randomUUID() batches its
// entropy. Each byte is handed out once and zeroed as it goes, so the pool never holds one that was used.
const pool = Buffer.alloc(4096)
let offset = pool.length

/** `bytes` random bytes from the CSPRNG, as base64url (16 bytes: 22 characters; 32 bytes: 43). */
export function randomId (bytes: number): string {
  if (bytes > pool.length) throw new RangeError(`randomId: at most ${pool.length} bytes`)
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + bytes)
  pool.fill(0, offset, offset + bytes)
  offset += bytes
  return id
}
