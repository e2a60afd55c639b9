// What the pieces of a login and a verify cost on their own: CPU time per call in one process, with nothing
// else under load, taken from the built package. Beside each route's CPU per request it shows where the time
// of a request goes, and how much of it is work the plugin must do (reading a number, an HMAC, a signature).
import { createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import fastifyJwt from '@fastify/jwt'
import Fastify from 'fastify'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { packageRoot } from './package.js'

export interface Part {
  name: string
  /** CPU microseconds per call: the best of five rounds. */
  micros: number
  /** Which routes do it, how often. */
  where: string
}

// Internal modules of the build, so the bench times the plugin's own functions and not a copy of them.
const internal = createRequire(join(packageRoot, 'dist', 'cjs', 'index.js'))
const identity = internal('./identity.js') as typeof import('../lib/identity.js')
const codes = internal('./codes.js') as typeof import('../lib/codes.js')
const random = internal('./fast-paths/random-pool.js') as typeof import('../lib/fast-paths/random-pool.js')
const devices = internal('./devices.js') as typeof import('../lib/devices.js')
const deadline = internal('./store/deadline.js') as typeof import('../lib/store/deadline.js')
const memory = internal('./store/memory.js') as typeof import('../lib/store/memory.js')
const verifyToken = internal('./fast-paths/verified-tokens.js') as typeof import('../lib/fast-paths/verified-tokens.js')

function cost (work: (i: number) => unknown, calls = 20_000): number {
  let next = 0
  for (let i = 0; i < 2_000; i++) work(next++)
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) work(next++)
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / calls)
  }
  return best
}

/** The same for work that must be awaited: CPU microseconds per awaited call, the best of five rounds. */
async function costAsync (work: (i: number) => Promise<unknown>, calls = 20_000): Promise<number> {
  let next = 0
  for (let i = 0; i < 2_000; i++) await work(next++)
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) await work(next++)
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / calls)
  }
  return best
}

export async function measureParts (): Promise<Part[]> {
  const app = Fastify()
  // As the plugin registers @fastify/jwt: HS256 with a string secret, a 15-minute lifetime.
  await app.register(fastifyJwt, { secret: 'bench-jwt-secret-that-is-long-enough-0000', sign: { expiresIn: '900s' } })
  await app.ready()
  const policy = { defaultCountry: undefined, allowedCountries: undefined }
  // New numbers each call, from a range the load runs do not use.
  const phone = (i: number): string => `+91${9_700_000_000 + i}`
  const claims = (i: number): Record<string, string> => ({
    sub: phone(i), phone: phone(i), jti: random.randomId(16), sid: random.randomId(16)
  })
  const token = app.jwt.sign(claims(0))
  const cached = Fastify()
  await cached.register(fastifyJwt, { secret: 'bench-jwt-secret-that-is-long-enough-0000', verify: { cache: true } })
  await cached.ready()
  const accepted = verifyToken.VerifiedTokens.from({ cache: true })
  accepted?.add(token, app.jwt.verify(token))
  // More users than either cache keeps, in turn: each lookup misses.
  const many = Array.from({ length: 5000 }, (_, i) => app.jwt.sign(claims(i)))
  const secret = 'bench-code-secret-that-is-long-enough-000'
  const hashCode = codes.codeHasher(secret)
  const preparedKey = createSecretKey(Buffer.from(secret))
  const parts: Part[] = [
    { name: 'read a phone number and check its numbering plan (libphonenumber-js, full metadata; patterns compiled once)', micros: cost((i) => identity.normalizePhone(phone(i), policy)), where: 'every login' },
    { name: 'the same with the library\'s own check (`isValid()`, a RegExp built per pattern per call): not used', micros: cost((i) => parsePhoneNumberFromString(phone(i), { extract: false })?.isValid()), where: 'for comparison' },
    { name: 'read a phone number, numbering plan not checked', micros: cost((i) => identity.parsePhone(phone(i), policy)), where: 'every verify (the plan is checked only without a code)' },
    { name: 'HMAC-SHA256 of a code', micros: cost((i) => hashCode(phone(i), '123456')), where: 'every login and verify' },
    { name: 'the same with the key prepared once as a KeyObject: not used (a fast path taken out)', micros: cost((i) => createHmac('sha256', preparedKey).update(`${phone(i)}:123456`).digest('base64url')), where: 'for comparison' },
    { name: 'sign an access token (@fastify/jwt, HS256)', micros: cost((i) => app.jwt.sign(claims(i))), where: 'every successful verify' },
    { name: 'verify an access token (@fastify/jwt, no cache)', micros: cost(() => app.jwt.verify(token)), where: 'request.jwtVerify() with @fastify/jwt\'s defaults' },
    { name: 'the same token again through fast-jwt\'s cache (it finds the entry by a SHA-512 of the token)', micros: cost(() => cached.jwt.verify(token)), where: 'request.jwtVerify() with `verify.cache`' },
    { name: 'the same token again through app.authenticate\'s accepted tokens (a Map by the token\'s text)', micros: cost(() => accepted?.get(token)), where: 'app.authenticate, a token it accepted before' },
    { name: 'verify one of 5,000 tokens in turn (@fastify/jwt, no cache)', micros: cost((i) => app.jwt.verify(many[i % many.length] ?? token)), where: 'app.authenticate, a token it does not keep' },
    { name: 'the same through fast-jwt\'s cache, which misses: not used where app.authenticate keeps tokens', micros: cost((i) => cached.jwt.verify(many[i % many.length] ?? token)), where: 'for comparison' },
    { name: 'SHA-256 of a refresh token', micros: cost((i) => createHash('sha256').update(`${i}.${'s'.repeat(43)}`).digest('base64url')), where: 'every successful verify' },
    { name: 'a random id (16 bytes from the pooled CSPRNG)', micros: cost(() => random.randomId(16)), where: 'four per successful verify' },
    { name: 'the same from `randomBytes(16)`, one CSPRNG call each: not used', micros: cost(() => randomBytes(16).toString('base64url')), where: 'for comparison' }
  ]
  // The abuse defences' own cost on the sign-in routes: a device token made and read (HMAC), and the
  // storeTimeout deadline around a store call (a timer set and cleared, and a race), measured as the difference
  // between one awaited call of a MemoryStore method with and without it.
  const tokens = new devices.DeviceTokens(secret, 90 * 86400)
  const deviceToken = tokens.issue(phone(0))
  parts.push(
    { name: 'issue a trusted-device token (HMAC-SHA256)', micros: cost((i) => tokens.issue(phone(i))), where: 'every successful verify' },
    { name: 'check a trusted-device token', micros: cost(() => tokens.read(phone(0), deviceToken)), where: 'a login or verify that carries one' }
  )
  const store = new memory.MemoryStore()
  const bounded = deadline.otpStoreWithDeadline(store, 2000)
  const plain = await costAsync(async (i) => await store.isSessionLive('u', String(i)))
  const withDeadline = await costAsync(async (i) => await bounded.isSessionLive('u', String(i)))
  await store.close()
  parts.push({ name: 'the storeTimeout deadline around one store call', micros: Math.max(0, withDeadline - plain), where: 'every store call: one per login, two per verify' })
  await app.close()
  await cached.close()
  return parts
}
