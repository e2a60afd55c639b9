// Security review findings (branch review): each test states the behaviour wanted; a failing one is marked todo.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import t from 'tap'
import { MemoryCredentialStore, SqlCredentialStore, type PasskeyRecord, type TotpRecord, type TotpState } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { PostgresServer } from './helpers/postgres.js'
import { SoftAuthenticator } from './helpers/webauthn.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

const origin = 'http://localhost:3000'
const rpId = 'localhost'
const phone = '+919876543210'

t.test('PostgreSQL store: a credential id longer than varchar(700) is a clear 4xx, not 503', async (t) => {
  const server = await PostgresServer.start()
  t.teardown(async () => { await server.stop() })
  const db = await server.kysely()
  const credentialStore = new SqlCredentialStore(db as never, { tablePrefix: 'review_' })
  await credentialStore.migrate()
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', { passkeys: { rpId, rpName: 'Test', origins: [origin] }, credentialStore })
  await login(phone)
  const access = (await verify(phone, codeFor(phone))).json().access as string
  const headers = { authorization: `Bearer ${access}` }
  const options = (await app.inject({ method: 'POST', url: '/passkeys/register/options', headers })).json()
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // 1000 bytes: 1334 base64url characters, under the schema's 1400 and WebAuthn's 1023-byte limit.
  const credential = { id: randomBytes(1000), privateKey, publicKey, userHandle: options.user.id, counter: 0 }
  const response = new SoftAuthenticator({ origin, rpId }).create(options, { credential })
  const res = await app.inject({ method: 'POST', url: '/passkeys/register', headers, payload: { response } })
  t.not(res.statusCode, 503, `a client's long credential id must not look like a store outage: ${res.body}`)
  t.ok(res.statusCode >= 400 && res.statusCode < 500, res.body)
})

/**
 * A credential store whose calls run one after another, as Redis runs commands. `hold()` stalls the next call;
 * the store wakes when the next call after it is queued (a retry behind the stalled call).
 */
class QueuedStore extends MemoryCredentialStore {
  queue: Promise<unknown> = Promise.resolve()
  private gate: Promise<void> | undefined
  private release: (() => void) | undefined
  private wakeOnNext = false
  private holdFor = ''
  /** Stalls the next call (of `method` only, if given). */
  hold (method = ''): void { this.holdFor = method; this.gate = new Promise((resolve) => { this.release = resolve }) }
  private queued<T> (name: string, call: () => Promise<T>): Promise<T> {
    const gate = this.holdFor === '' || this.holdFor === name ? this.gate : undefined
    if (gate !== undefined) this.gate = undefined
    const wake = this.wakeOnNext && gate === undefined ? this.release : undefined
    if (gate !== undefined) this.wakeOnNext = true
    const run = this.queue.then(async () => { await gate; return await call() })
    this.queue = run.catch(() => {})
    if (wake !== undefined) { this.wakeOnNext = false; wake() }
    return run
  }

  override async replaceRecoveryCodes (owner: string, hashes: readonly string[]): Promise<string[] | undefined> {
    return await this.queued('replaceRecoveryCodes', async () => await super.replaceRecoveryCodes(owner, hashes))
  }

  override async removePasskey (owner: string, id: string): Promise<PasskeyRecord | undefined> {
    return await this.queued('removePasskey', async () => await super.removePasskey(owner, id))
  }

  override async addPasskey (owner: string, passkey: PasskeyRecord): Promise<boolean> {
    return await this.queued('addPasskey', async () => await super.addPasskey(owner, passkey))
  }

  override async disable (owner: string): Promise<TotpState | undefined> {
    return await this.queued('disable', async () => await super.disable(owner))
  }

  override async restoreTotp (owner: string, state: TotpState): Promise<boolean> {
    return await this.queued('restoreTotp', async () => await super.restoreTotp(owner, state))
  }

  override async enable (owner: string, secret: string, hashes: readonly string[], step: number): Promise<boolean> {
    return await this.queued('enable', async () => await super.enable(owner, secret, hashes, step))
  }

  override async get (owner: string): Promise<TotpRecord | undefined> {
    return await this.queued('get', async () => await super.get(owner))
  }

  /** Until every queued call, and what it set off, has run. */
  async settled (): Promise<void> {
    for (let i = 0; i < 5; i++) { await this.queue; await new Promise((resolve) => setImmediate(resolve)) }
  }
}

t.test('a late recovery-code renewal never brings back the codes a later renewal replaced', async (t) => {
  const store = new QueuedStore()
  const { app, enable, verifyRecovery } = await buildTotpApp(t, 'memory', { credentialStore: store, storeTimeout: 100 })
  const { access, recoveryCodes: old } = await enable(phone)
  const renew = async () => await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  store.hold()
  t.equal((await renew()).statusCode, 503, 'the first renewal outlives storeTimeout')
  const res = await renew() // queued behind the stalled first renewal, which wakes then
  t.equal(res.statusCode, 200, 'the retry answers in time')
  // Let the late first renewal's undo run (it queues behind the retry).
  await store.settled()
  const fresh: string[] = res.json().recoveryCodes
  t.equal((await verifyRecovery(phone, old[0] ?? '')).statusCode, 401, 'a code the user replaced (maybe leaked) stays dead')
  t.equal((await verifyRecovery(phone, fresh[0] ?? '')).statusCode, 200, 'the codes the user was shown work')
})

t.test('a late passkey removal never brings the passkey back after a retry said it is gone', async (t) => {
  const store = new QueuedStore()
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', { passkeys: { rpId, rpName: 'Test', origins: [origin] }, credentialStore: store, storeTimeout: 100 })
  await login(phone)
  const access = (await verify(phone, codeFor(phone))).json().access as string
  const headers = { authorization: `Bearer ${access}` }
  const authenticator = new SoftAuthenticator({ origin, rpId })
  const options = (await app.inject({ method: 'POST', url: '/passkeys/register/options', headers })).json()
  const added = await app.inject({ method: 'POST', url: '/passkeys/register', headers, payload: { response: authenticator.create(options) } })
  const id: string = added.json().id
  const remove = async () => await app.inject({ method: 'DELETE', url: `/passkeys/${id}`, headers })
  store.hold()
  t.equal((await remove()).statusCode, 503, 'the removal outlives storeTimeout')
  t.equal((await remove()).statusCode, 404, 'the retry finds it gone (the late removal ran first)')
  await store.settled()
  t.same((await app.inject({ method: 'GET', url: '/passkeys', headers })).json().passkeys, [], 'a passkey the user removed (a thief\'s?) stays removed')
  const login2 = (await app.inject({ method: 'POST', url: '/passkeys/login/options' })).json()
  t.equal((await app.inject({ method: 'POST', url: '/passkeys/login', payload: { response: authenticator.get(login2) } })).statusCode, 401, 'and signs in no more')
})

t.test('a late TOTP removal by the host never brings the authenticator back after a retry', async (t) => {
  const store = new QueuedStore()
  const { app, enable, verifyTotp, clock } = await buildTotpApp(t, 'memory', { credentialStore: store, storeTimeout: 100 })
  const { secret } = await enable(phone)
  store.hold()
  await t.rejects(app.otpCredentials.removeTotp(phone), { code: 'OTP_STORE_UNAVAILABLE' }, 'the removal outlives storeTimeout')
  const retried = await app.otpCredentials.removeTotp(phone)
  await store.settled()
  t.equal(retried, false, 'the retry finds nothing to remove (the late removal ran first)')
  t.same((await app.otpCredentials.get(phone)).totp, null, 'a removed (thief\'s?) authenticator stays removed')
  clock.now += 30_000
  t.equal((await verifyTotp(phone, codeAt(secret, Math.floor(clock.now / 30_000)))).statusCode !== 200, true, 'and signs in no more')
})

t.test('a passkey outlives a change of codeSecret (a restart without one, or a rotation)', async (t) => {
  const credentialStore = new MemoryCredentialStore() // durable in real life: SQL, or a persistent Redis
  const passkeys = { rpId, rpName: 'Test', origins: [origin] }
  const first = await buildApp(t, 'memory', { passkeys, credentialStore, codeSecret: 'a'.repeat(32) })
  await first.login(phone)
  const access = (await first.verify(phone, first.codeFor(phone))).json().access as string
  const headers = { authorization: `Bearer ${access}` }
  const authenticator = new SoftAuthenticator({ origin, rpId })
  const options = (await first.app.inject({ method: 'POST', url: '/passkeys/register/options', headers })).json()
  t.equal((await first.app.inject({ method: 'POST', url: '/passkeys/register', headers, payload: { response: authenticator.create(options) } })).statusCode, 200)
  const second = await buildApp(t, 'memory', { passkeys, credentialStore, codeSecret: 'b'.repeat(32) })
  const request = (await second.app.inject({ method: 'POST', url: '/passkeys/login/options' })).json()
  const res = await second.app.inject({ method: 'POST', url: '/passkeys/login', payload: { response: authenticator.get(request) } })
  t.equal(res.statusCode, 200, res.body)
})

t.test('a late TOTP confirm whose retry is told "already on" leaves the authenticator on', async (t) => {
  const store = new QueuedStore()
  const { app, accessFor, setup, confirm, step } = await buildTotpApp(t, 'memory', { credentialStore: store, storeTimeout: 100 })
  const access = await accessFor(phone)
  const secret: string = (await setup(access)).json().secret
  const otp = codeAt(secret, step())
  store.hold('enable')
  const first = await confirm(access, otp)
  const retry = await confirm(access, otp)
  await store.settled()
  const status = await app.otpCredentials.get(phone)
  t.comment(`first ${first.statusCode} ${first.json().code}, retry ${retry.statusCode} ${retry.json().code}, then ${JSON.stringify(status.totp)}`)
  if (retry.statusCode === 409) t.equal(status.totp?.enabled, true, 'told "already on", the authenticator is on')
  else t.pass('the retry did not claim TOTP on')
})
