import { randomBytes } from 'node:crypto'
import { Secret } from 'otpauth'
import t from 'tap'
import { MemoryTotpStore } from '../lib/index.js'
import { SecretBox, parseEncryptionKey } from '../lib/totp/keys.js'
import { freshRedis, sharedRedis } from './helpers/app.js'
import { STEP_MS, buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'

/** Every way the secret could be written down in clear. */
function clearForms (base32: string): string[] {
  const bytes = Buffer.from(Secret.fromBase32(base32).bytes)
  return [base32, base32.toLowerCase(), bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('latin1')]
}

t.test('Redis: the secret is encrypted, recovery codes are hashes, an enabled authenticator never expires', async (t) => {
  const { enable, verifyTotp, step } = await buildTotpApp(t, 'redis')
  // The app's server, not emptied again: that would take the credential store's marker with it.
  const redis = await (await sharedRedis()).client()
  const { secret, recoveryCodes } = await enable(phone)
  await verifyTotp(phone, codeAt(secret, step()))
  const key = `otp:{${phone}}:totp`
  const stored = await redis.hgetall(key)
  const dump = JSON.stringify(stored)
  for (const form of clearForms(secret)) t.notOk(dump.includes(form), 'no clear form of the secret')
  for (const code of recoveryCodes) {
    t.notOk(dump.includes(code) || dump.includes(code.replace('-', '')), 'no recovery code in clear')
  }
  t.match(stored.s, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{27}$/, 'v1.<96-bit IV>.<128-bit tag>.<160-bit ciphertext>')
  t.equal(Object.keys(stored).filter((f) => f.startsWith('r:')).length, 10, 'ten recovery hashes')
  t.equal(await redis.pttl(key), -1, 'no TTL: this Redis needs persistence')
})

t.test('memory: the stored secret is encrypted too', async (t) => {
  const totpStore = new MemoryTotpStore()
  const { enable } = await buildTotpApp(t, 'memory', { totpStore })
  const { secret } = await enable(phone)
  const record = await totpStore.get(phone)
  t.ok(record?.enabled)
  for (const form of clearForms(secret)) t.notOk(record?.secret.includes(form), 'no clear form of the secret')
})

t.test('a host store: two setups of one user never share an IV', async (t) => {
  const totpStore = new MemoryTotpStore()
  const { accessFor, setup } = await buildTotpApp(t, 'memory', { totpStore })
  const access = await accessFor(phone)
  const ivs = new Set<string>()
  for (let i = 0; i < 5; i++) {
    await setup(access)
    ivs.add((await totpStore.get(phone))?.secret.split('.')[1] ?? '')
  }
  t.equal(ivs.size, 5)
})

t.test('SecretBox: altered, moved or foreign ciphertexts do not open', async (t) => {
  const box = new SecretBox(randomBytes(32))
  const secret = randomBytes(20)
  const sealed = box.seal(phone, secret)
  t.same(box.open(phone, sealed), secret)
  t.throws(() => box.open('+919876543211', sealed), /could not be decrypted/, "on another identifier's record")
  const [v, iv, tag, ct = ''] = sealed.split('.')
  const flipped = Buffer.from(ct, 'base64url')
  flipped[0] = (flipped[0] ?? 0) ^ 1
  t.throws(() => box.open(phone, [v, iv, tag, flipped.toString('base64url')].join('.')), /could not be decrypted/, 'a flipped bit')
  t.throws(() => new SecretBox(randomBytes(32)).open(phone, sealed), /could not be decrypted/, 'another key')
  t.throws(() => box.open(phone, 'plain'), /not in the expected format/)
  const shortTag = Buffer.from(tag ?? '', 'base64url').subarray(0, 4).toString('base64url')
  t.throws(() => box.open(phone, [v, iv, shortTag, ct].join('.')), /could not be decrypted/, 'a truncated tag is refused')
})

t.test('a secret under another totpEncryptionKey: 500 with a clear log line, never a token', async (t) => {
  const totpStore = new MemoryTotpStore()
  const logs: string[] = []
  const first = await buildTotpApp(t, 'memory', { totpStore })
  const { secret } = await first.enable(phone)
  const other = await buildTotpApp(t, 'memory', { totpStore, totpEncryptionKey: 'f'.repeat(64) }, logs)
  const res = await other.verifyTotp(phone, codeAt(secret, other.step() + 1))
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /access/, 'no token')
  t.match(logs.join('\n'), /could not be decrypted \(was it encrypted under another totpEncryptionKey\?\)/)
})

t.test('totpEncryptionKey: 64 hex digits or base64 of 32 bytes', async (t) => {
  const key = randomBytes(32)
  t.same(parseEncryptionKey(key.toString('hex')), key)
  t.same(parseEncryptionKey(key.toString('hex').toUpperCase()), key)
  t.same(parseEncryptionKey(key.toString('base64')), key)
  t.same(parseEncryptionKey(key.toString('base64url')), key)
  for (const bad of ['', 'a'.repeat(63), 'g'.repeat(64), randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), 'a'.repeat(32)]) {
    t.equal(parseEncryptionKey(bad), undefined, JSON.stringify(bad))
  }
})

t.test('Redis round trips of a TOTP login', async (t) => {
  const redis = await freshRedis()
  const sent: string[] = []
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => { sent.push(command.name); return sendCommand(command, stream) }
  const { enable, verifyTotp, verifyRecovery, step, clock } = await buildTotpApp(t, 'memory', { redis, codeSecret: 'test-code-secret-that-is-long-enough-00' })
  const { secret, recoveryCodes } = await enable(phone)
  await verifyTotp(phone, codeAt(secret, step())) // warm up the scripts
  clock.now += STEP_MS
  sent.splice(0)
  t.equal((await verifyTotp(phone, codeAt(secret, step()))).statusCode, 200)
  // Every credential call is a script: it checks the store's marker in the same round trip.
  t.same(sent.splice(0), ['evalsha', 'evalsha', 'evalsha', 'del', 'evalsha'],
    'reserve the guess (lock check + count), record, step, clear failures, session')
  t.equal((await verifyTotp(phone, '000000')).statusCode, 401)
  t.same(sent.splice(0), ['evalsha', 'evalsha'], 'a wrong code: reserve the guess, record (the failure is already counted)')
  t.equal((await verifyRecovery(phone, recoveryCodes[0] ?? '')).statusCode, 200)
  t.same(sent.splice(0), ['evalsha', 'evalsha', 'del', 'evalsha'], 'recovery: reserve, the code, clear failures, session')
})
