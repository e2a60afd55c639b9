import t from 'tap'
import { MemoryCredentialStore, MemoryStore, MemoryTotpStore } from '../lib/index.js'
import { CODE_SECRET, buildApp, freshRedis, readyWith } from './helpers/app.js'
import { TOTP_KEY } from './helpers/totp.js'

const base = { send: () => {}, jwt: { secret: 'a-jwt-secret-that-is-long-enough-0000' } }

t.test('bad TOTP options fail app.ready() with a message naming the option', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['key too short', { ...base, totpEncryptionKey: 'ab'.repeat(31) }, /option "totpEncryptionKey" must be 32 bytes as 64 hex digits or as base64, or a list of 1 to 8 such keys \(newest first, none twice\) \(got 62 characters\)/],
    ['an empty key list', { ...base, totpEncryptionKey: [] }, /option "totpEncryptionKey" must be 32 bytes/],
    ['nine keys', { ...base, totpEncryptionKey: Array.from({ length: 9 }, (_, i) => i.toString(16).repeat(64)) }, /option "totpEncryptionKey" .*a list of 1 to 8/],
    ['one bad key in the list', { ...base, totpEncryptionKey: [TOTP_KEY, 'ab'.repeat(31)] }, /option "totpEncryptionKey"/],
    ['a key twice', { ...base, totpEncryptionKey: [TOTP_KEY, TOTP_KEY.toUpperCase()] }, /option "totpEncryptionKey" .*none twice/],
    ['credentialStore missing methods', { ...base, totpEncryptionKey: TOTP_KEY, credentialStore: { get: () => {} } }, /option "credentialStore" must implement get, savePending, enable, useStep, useRecoveryCode, disable, restoreRecoveryCode/],
    ['both credentialStore and totpStore', { ...base, totpEncryptionKey: TOTP_KEY, credentialStore: new MemoryCredentialStore(), totpStore: new MemoryTotpStore() }, /option "totpStore" is the old name of "credentialStore": give only "credentialStore"/],
    ['key not hex or base64', { ...base, totpEncryptionKey: 'z'.repeat(64) }, /option "totpEncryptionKey"/],
    ['key a buffer', { ...base, totpEncryptionKey: Buffer.alloc(32) }, /option "totpEncryptionKey" .* \(got object\)/],
    ['totpStore without a key', { ...base, totpStore: new MemoryTotpStore() }, /option "totpStore" needs "totpEncryptionKey"/],
    ['totpIssuer without a key', { ...base, totpIssuer: 'Acme' }, /option "totpIssuer" needs "totpEncryptionKey"/],
    ['totpStore missing methods', { ...base, totpEncryptionKey: TOTP_KEY, totpStore: { get: () => {} } }, /option "totpStore" must implement get, savePending, enable, useStep, useRecoveryCode, disable/],
    ['custom store without totpStore', { ...base, totpEncryptionKey: TOTP_KEY, store: new MemoryStore(), codeSecret: CODE_SECRET }, /option "credentialStore" is required with "store" and no "redis"/],
    ['issuer with a colon', { ...base, totpEncryptionKey: TOTP_KEY, totpIssuer: 'Acme:Shop' }, /option "totpIssuer"/],
    ['issuer empty', { ...base, totpEncryptionKey: TOTP_KEY, totpIssuer: '' }, /option "totpIssuer"/],
    ['clock not a function', { ...base, totpEncryptionKey: TOTP_KEY, totpClock: 5 }, /option "totpClock"/]
  ]
  for (const [name, options, message] of cases) {
    await t.rejects(readyWith(options), message, name)
  }
  const secretKey = 'c0ffee'.repeat(10)
  const error = await readyWith({ ...base, totpEncryptionKey: secretKey }).catch((err: Error) => err)
  t.notMatch(String(error), secretKey, 'a bad key is not echoed')
})

t.test('a custom store must also count failures for the TOTP routes', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  // The methods a store needed before authenticators came.
  const names = ['issueCode', 'revokeCode', 'verifyCode', 'consumeBudget', 'createSession', 'rotateSession', 'isSessionLive', 'endSessions', 'listSessions'] as const
  const partial = Object.fromEntries(names.map((name) => [name, store[name].bind(store)]))
  await t.rejects(readyWith({ ...base, store: partial, codeSecret: CODE_SECRET }), /option "store" must implement .*reserveGuess, refundGuess, lockOut, clearFailures/)
})

t.test('good keys: hex and base64; the Redis default needs no totpStore', async (t) => {
  await readyWith({ ...base, totpEncryptionKey: TOTP_KEY.toUpperCase() })
  await readyWith({ ...base, totpEncryptionKey: Buffer.from(TOTP_KEY, 'hex').toString('base64') })
  await readyWith({ ...base, totpEncryptionKey: TOTP_KEY, redis: await freshRedis(), codeSecret: CODE_SECRET })
  await readyWith({ ...base, totpEncryptionKey: TOTP_KEY, store: new MemoryStore(), codeSecret: CODE_SECRET, totpStore: new MemoryTotpStore() })
  await readyWith({ ...base, totpEncryptionKey: TOTP_KEY, store: new MemoryStore(), codeSecret: CODE_SECRET, credentialStore: new MemoryCredentialStore() })
  await readyWith({ ...base, totpEncryptionKey: [TOTP_KEY, 'f'.repeat(64)] })
  t.pass()
})

t.test('NODE_ENV=production without redis or totpStore: a warning that authenticators live in the process', async (t) => {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { process.env.NODE_ENV = previous })
  const logs: string[] = []
  await buildApp(t, 'memory', { totpEncryptionKey: TOTP_KEY }, logs)
  t.match(logs.join('\n'), /authenticators live in this process \(MemoryCredentialStore\)/)
})
