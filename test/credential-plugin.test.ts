import t, { type Test } from 'tap'
import { holdable, lateCallsUndone } from './helpers/holdable.js'
import {
  MemoryCredentialStore, MemoryStore, type OtpEvent, type PasskeyRecord, type TotpStore
} from '../lib/index.js'
import { credentialStoreMethods } from '../lib/store/credentials/types.js'
import { credentialStoreUndos } from '../lib/store/deadline.js'
import { SecretBox, deriveKey } from '../lib/totp/keys.js'
import { CODE_SECRET, buildApp, readyWith } from './helpers/app.js'
import { STEP_MS, TOTP_KEY, buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'
const KEY_B = 'b'.repeat(64)
const base = { send: () => {}, jwt: { secret: 'a-jwt-secret-that-is-long-enough-0000' } }

/** A 0.1 `TotpStore`: only the six methods it had. */
function oldStore (inner = new MemoryCredentialStore()): TotpStore {
  return {
    get: async (owner) => { const r = await inner.get(owner); return r && { secret: r.secret, enabled: r.enabled } },
    savePending: inner.savePending.bind(inner),
    enable: inner.enable.bind(inner),
    useStep: inner.useStep.bind(inner),
    useRecoveryCode: inner.useRecoveryCode.bind(inner),
    disable: async (owner) => { await inner.disable(owner) }
  } as TotpStore
}

t.test('totpStore still works, with FOTPDEP003; a 0.1 store runs everything but new recovery codes (501)', async (t) => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const { enable, verifyTotp, verifyRecovery, disable, step, app } = await buildTotpApp(t, 'memory', { totpStore: oldStore() })
  const { access, secret, recoveryCodes } = await enable(phone)
  t.equal((await verifyTotp(phone, codeAt(secret, step()))).statusCode, 200, 'verify')
  t.equal((await verifyRecovery(phone, recoveryCodes[0] ?? '')).statusCode, 200, 'recovery')
  const renew = await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  t.equal(renew.statusCode, 501)
  t.equal(renew.json().code, 'OTP_STORE_UNSUPPORTED')
  t.equal((await verifyRecovery(phone, recoveryCodes[1] ?? '')).statusCode, 200, 'the old codes still work')
  t.same(await app.otpCredentials.get(phone), { totp: { enabled: true, recoveryCodesLeft: null }, passkeys: [] }, 'alternative mode: by identifier')
  t.equal((await disable(access)).statusCode, 204)
  t.equal(await app.otpCredentials.removeTotp(phone), false, 'a 0.1 store: gone already')
  await new Promise((resolve) => setImmediate(resolve))
  t.match(warnings, [{ name: 'DeprecationWarning', code: 'FOTPDEP003' }])
})

t.test("the store's init runs once at registration; a throw fails ready()", async (t) => {
  const store = new MemoryCredentialStore()
  const calls: unknown[] = []
  Object.assign(store, { init: async (log: unknown) => { calls.push(log) } })
  await buildTotpApp(t, 'memory', { credentialStore: store })
  t.equal(calls.length, 1)
  t.equal(typeof (calls[0] as { warn?: unknown }).warn, 'function', 'given the logger')
  const refusing = Object.assign(new MemoryCredentialStore(), { init: async () => { throw new Error('this Redis has no persistence') } })
  await t.rejects(readyWith({ ...base, totpEncryptionKey: TOTP_KEY, credentialStore: refusing }), /this Redis has no persistence/)
  // A credential store without TOTP (for passkeys) is set up too.
  const alone = Object.assign(new MemoryCredentialStore(), { init: async () => { throw new Error('init ran') } })
  await t.rejects(readyWith({ ...base, credentialStore: alone }), /init ran/)
  await readyWith({ ...base, store: new MemoryStore(), codeSecret: CODE_SECRET, totpEncryptionKey: TOTP_KEY, credentialStore: new MemoryCredentialStore() })
})

t.test('key rotation: enrolled under A, restarted with [B, A]: signs in, and the secret is now sealed under B', async (t) => {
  const credentialStore = new MemoryCredentialStore()
  const first = await buildTotpApp(t, 'memory', { credentialStore })
  const { secret, recoveryCodes } = await first.enable(phone)
  const logs: string[] = []
  const rotated = await buildTotpApp(t, 'memory', { credentialStore, totpEncryptionKey: [KEY_B, TOTP_KEY] }, logs)
  rotated.clock.now = first.clock.now
  const underB = new SecretBox(deriveKey(Buffer.from(KEY_B, 'hex'), 'totp-secret'))
  const before = (await credentialStore.get(phone))?.secret ?? ''
  t.throws(() => underB.open(phone, before), 'sealed under A before')
  t.equal((await rotated.verifyTotp(phone, codeAt(secret, rotated.step()))).statusCode, 200, 'a code works')
  const after = (await credentialStore.get(phone))?.secret ?? ''
  t.doesNotThrow(() => underB.open(phone, after), 'sealed under B now')
  const onlyB = await buildTotpApp(t, 'memory', { credentialStore, totpEncryptionKey: KEY_B })
  onlyB.clock.now = rotated.clock.now + STEP_MS
  t.equal((await onlyB.verifyTotp(phone, codeAt(secret, onlyB.step()))).statusCode, 200, 'B alone opens it now')
  t.equal((await rotated.verifyRecovery(phone, recoveryCodes[0] ?? '')).statusCode, 200, 'a recovery code issued under A works under [B, A]')
  t.notMatch(logs.join('\n'), /could not be sealed/)
})

t.test('key rotation: a failing replaceSecret does not fail the sign-in (logged; tried again next time)', async (t) => {
  const credentialStore = new MemoryCredentialStore()
  const first = await buildTotpApp(t, 'memory', { credentialStore })
  const { secret } = await first.enable(phone)
  let fail = true
  const replaceSecret = credentialStore.replaceSecret.bind(credentialStore)
  credentialStore.replaceSecret = async (...args) => { if (fail) throw new Error('db down'); return await replaceSecret(...args) }
  const logs: string[] = []
  const rotated = await buildTotpApp(t, 'memory', { credentialStore, totpEncryptionKey: [KEY_B, TOTP_KEY] }, logs)
  rotated.clock.now = first.clock.now
  t.equal((await rotated.verifyTotp(phone, codeAt(secret, rotated.step()))).statusCode, 200)
  t.match(logs.join('\n'), /could not be sealed under the newest/)
  const sealed = (await credentialStore.get(phone))?.secret ?? ''
  fail = false
  rotated.clock.now += STEP_MS
  t.equal((await rotated.verifyTotp(phone, codeAt(secret, rotated.step()))).statusCode, 200)
  t.not((await credentialStore.get(phone))?.secret, sealed, 'resealed on the next use')
})

t.test('POST /totp/recovery-codes: ten new codes, the old ones dead, an event; 409 when TOTP is off', async (t) => {
  const events: OtpEvent[] = []
  const { enable, verifyRecovery, accessFor, app } = await buildTotpApp(t, 'memory', { onEvent: (event) => { events.push(event) }, maxFailures: 100 })
  const renew = async (access: string) => await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  const off = await renew(await accessFor('+919876543211'))
  t.equal(off.statusCode, 409)
  t.equal(off.json().code, 'OTP_TOTP_NOT_ENABLED')
  const { access, recoveryCodes } = await enable(phone)
  const res = await renew(access)
  t.equal(res.statusCode, 200)
  const fresh: string[] = res.json().recoveryCodes
  t.equal(fresh.length, 10)
  t.match(fresh[0], /^[0-9a-z]{5}-[0-9a-z]{5}$/)
  t.equal((await verifyRecovery(phone, recoveryCodes[0] ?? '')).statusCode, 401, 'an old code is dead')
  t.equal((await verifyRecovery(phone, fresh[0] ?? '')).statusCode, 200, 'a new one works')
  t.match(events.filter((e) => e.type === 'recovery-codes-regenerated'), [{ identifier: '+91******3210', ip: '127.0.0.1' }])
  t.equal((await app.inject({ method: 'POST', url: '/totp/recovery-codes' })).statusCode, 401, 'needs a token')
  const body = await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` }, payload: { x: 1 } })
  t.equal(body.statusCode, 200, 'a body is ignored, as /totp/setup ignores one')
  t.same(await app.otpCredentials.get(phone), { totp: { enabled: true, recoveryCodesLeft: 10 }, passkeys: [] })
})

const passkey = (id: string): PasskeyRecord => ({
  id, publicKey: 'pk', counter: 0, transports: ['internal'], name: `Key ${id}`, createdAt: 1000, lastUsedAt: null, backedUp: true, identity: { kind: 'phone', value: phone }
})

t.test('app.otpCredentials (second-factor mode): get, removeTotp and removePasskey, with by: host events', async (t) => {
  const events: OtpEvent[] = []
  const credentialStore = new MemoryCredentialStore()
  const { enable, firstFactor, app } = await buildTotpApp(t, 'memory', {
    credentialStore, totpMode: 'second-factor', findOrCreateUser: () => ({ id: 'u1' }), onEvent: (event) => { events.push(event) }
  })
  t.same(await app.otpCredentials.get('u1'), { totp: null, passkeys: [] })
  await enable(phone)
  await credentialStore.addPasskey('user:u1', passkey('k1'))
  t.same(await app.otpCredentials.get('u1'), {
    totp: { enabled: true, recoveryCodesLeft: 10 }, passkeys: [{ id: 'k1', name: 'Key k1', createdAt: 1000, lastUsedAt: null, backedUp: true }]
  })
  t.ok((await firstFactor(phone)).json().mfaRequired, 'the authenticator is asked for')
  t.equal(await app.otpCredentials.removeTotp('u1'), true)
  t.equal(await app.otpCredentials.removeTotp('u1'), false, 'already gone')
  t.ok((await firstFactor(phone)).json().access, 'the code alone signs in again')
  t.equal(await app.otpCredentials.removePasskey('u2', 'k1'), false, "not u2's")
  t.equal(await app.otpCredentials.removePasskey('u1', 'k1'), true)
  t.equal(await app.otpCredentials.removePasskey('u1', 'k1'), false)
  const host = events.filter((e) => e.by === 'host')
  t.same(host, [{ type: 'totp-disabled', userId: 'u1', by: 'host' }, { type: 'passkey-removed', userId: 'u1', passkeyId: 'k1', by: 'host' }])
})

t.test('app.otpCredentials without authenticators or a credential store: nothing to see or remove', async (t) => {
  const { app } = await buildApp(t, 'memory')
  t.same(await app.otpCredentials.get('u1'), { totp: null, passkeys: [] })
  t.equal(await app.otpCredentials.removeTotp('u1'), false)
  t.equal(await app.otpCredentials.removePasskey('u1', 'k1'), false)
})

const storeTimeout = 300

async function heldApp (t: Test) {
  const inner = new MemoryCredentialStore()
  const held = holdable(inner, credentialStoreMethods)
  const logs: string[] = []
  const app = await buildTotpApp(t, 'memory', { credentialStore: held.store, storeTimeout, maxFailures: 100 }, logs)
  /** Runs `during` with `methods` held, then lets them answer, late. */
  const frozen = async <T>(methods: string[], during: () => Promise<T>): Promise<T> => {
    held.hold(methods)
    try { return await during() } finally { held.release() }
  }
  /** The late call of `method` was undone (one). */
  const undone = async (method: string): Promise<void> => { await lateCallsUndone(t, logs, method, 1) }
  return { ...app, inner, frozen, undone }
}

/** Waits until the store shows what the late call did (a call without an undo leaves no log line). */
async function until (t: Test, what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !await check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(await check(), what)
}

t.test('a late enable stays: the retry is told it is on, and POST /totp/recovery-codes gives the codes never shown', async (t) => {
  const { accessFor, setup, confirm, verifyTotp, verifyRecovery, step, clock, frozen, inner, app } = await heldApp(t)
  const access = await accessFor(phone)
  const secret: string = (await setup(access)).json().secret
  const code = codeAt(secret, step())
  t.equal((await frozen(['enable'], async () => await confirm(access, code))).statusCode, 503)
  await until(t, 'the late enable landed', async () => (await inner.get(phone))?.enabled === true)
  const retry = await confirm(access, code)
  t.equal(retry.statusCode, 409)
  t.equal(retry.json().code, 'OTP_TOTP_ALREADY_ENABLED', 'the retry is told the truth: it is on')
  const renewed = await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  t.equal(renewed.statusCode, 200)
  clock.now += STEP_MS
  t.equal((await verifyTotp(phone, codeAt(secret, step()))).statusCode, 200, 'the authenticator works')
  t.equal((await verifyRecovery(phone, renewed.json().recoveryCodes[0])).statusCode, 200, 'so do the new recovery codes')
})

t.test('a late DELETE /totp stays, as asked: never brought back after the retry', async (t) => {
  const { enable, disable, verifyTotp, step, frozen, inner } = await heldApp(t)
  const { access, secret } = await enable(phone)
  t.equal((await frozen(['disable'], async () => await disable(access))).statusCode, 503)
  await until(t, 'the late disable landed', async () => (await inner.get(phone)) === undefined)
  t.equal((await disable(access)).statusCode, 204, 'the retry')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(await inner.get(phone), undefined, 'still off')
  t.equal((await verifyTotp(phone, codeAt(secret, step() + 1))).statusCode, 401, 'its codes no longer sign in')
})

t.test('nothing changes behind a 503: a recovery code used late works once more', async (t) => {
  const { enable, verifyRecovery, frozen, undone } = await heldApp(t)
  const { recoveryCodes } = await enable(phone)
  const code = recoveryCodes[0] ?? ''
  t.equal((await frozen(['useRecoveryCode'], async () => await verifyRecovery(phone, code))).statusCode, 503)
  await undone('useRecoveryCode')
  t.equal((await verifyRecovery(phone, code)).statusCode, 200, 'the code still works')
  t.equal((await verifyRecovery(phone, code)).statusCode, 401, 'once')
})

t.test('late new recovery codes stay: the old ones are dead, the retry shows new ones that work', async (t) => {
  const { enable, verifyRecovery, frozen, inner, app } = await heldApp(t)
  const { access, recoveryCodes } = await enable(phone)
  const renew = async () => await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  t.equal((await frozen(['replaceRecoveryCodes'], renew)).statusCode, 503)
  await until(t, 'the late renewal landed', async () => (await verifyRecovery(phone, recoveryCodes[0] ?? '')).statusCode === 401)
  const retry = await renew()
  t.equal(retry.statusCode, 200)
  t.equal((await verifyRecovery(phone, retry.json().recoveryCodes[0])).statusCode, 200, 'the codes shown work')
  t.equal((await verifyRecovery(phone, recoveryCodes[1] ?? '')).statusCode, 401, 'the old ones stay dead')
  t.equal((await inner.get(phone))?.recoveryCodesLeft, 9)
})

t.test('the undos of passkeys: a late add is removed, a late remove stays removed', async (t) => {
  const store = new MemoryCredentialStore()
  t.equal(await store.addPasskey('user:u1', passkey('k1')), true)
  await credentialStoreUndos.addPasskey?.(store, ['user:u1', passkey('k1')], true)
  t.same(await store.listPasskeys('user:u1'), [])
  await store.addPasskey('user:u1', passkey('k2'))
  const removed = await store.removePasskey('user:u1', 'k2')
  t.ok(removed)
  t.equal(credentialStoreUndos.removePasskey, undefined, 'a removal is never undone: it could bring back a thief\'s passkey')
  t.same(await store.listPasskeys('user:u1'), [])
})
