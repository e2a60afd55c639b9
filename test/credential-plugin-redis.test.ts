import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { RedisCredentialStore, SqlCredentialStore, type CredentialStore } from '../lib/index.js'
import { CODE_SECRET, freshRedis, sharedRedis } from './helpers/app.js'
import { lateCallsUndone } from './helpers/holdable.js'
import { RedisServer } from './helpers/redis.js'
import { STEP_MS, buildTotpApp, codeAt } from './helpers/totp.js'

// The credential store on a real Redis: nothing changes behind a 503 when it freezes, and a loss of its data is
// never read as "no authenticator".
const phone = '+919876543210'
const storeTimeout = 300

t.teardown(async () => { (await sharedRedis()).resume() })

/**
 * An app on the shared redis-server whose credential store freezes the whole server (SIGSTOP) when `method` is
 * next called: the call goes to a frozen Redis, the request answers 503, and `thaw` lets the late answer come.
 */
async function freezingApp (t: Test) {
  const server = await sharedRedis()
  const redis = await freshRedis()
  const credentialStore = new RedisCredentialStore(redis)
  let armed: string | undefined
  for (const name of ['enable', 'disable', 'useRecoveryCode'] as const) {
    const method = credentialStore[name].bind(credentialStore) as (...args: unknown[]) => Promise<unknown>
    Object.assign(credentialStore, {
      [name]: async (...args: unknown[]) => {
        if (armed === name) { armed = undefined; server.pause() }
        return await method(...args)
      }
    })
  }
  const logs: string[] = []
  const app = await buildTotpApp(t, 'memory', { redis, codeSecret: CODE_SECRET, credentialStore: credentialStore as CredentialStore, storeTimeout, maxFailures: 100 }, logs)
  const frozenAt = async <T>(method: string, during: () => Promise<T>): Promise<T> => {
    armed = method
    try { return await during() } finally { armed = undefined; server.resume() }
  }
  /** The late call of `method` was undone (one). */
  const undone = async (method: string): Promise<void> => { await lateCallsUndone(t, logs, method, 1) }
  return { ...app, credentialStore, frozenAt, undone }
}

t.test('frozen Redis at confirm: 503; the late enable stays, the retry is told so, and new recovery codes come from their route', async (t) => {
  const { accessFor, setup, confirm, verifyTotp, step, clock, frozenAt, credentialStore, app } = await freezingApp(t)
  const access = await accessFor(phone)
  const secret: string = (await setup(access)).json().secret
  const code = codeAt(secret, step())
  const res = await frozenAt('enable', async () => await confirm(access, code))
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'OTP_STORE_UNAVAILABLE')
  for (let i = 0; i < 500 && (await credentialStore.get(phone))?.enabled !== true; i++) await sleep(10)
  t.match(await credentialStore.get(phone), { enabled: true }, 'on, as the user asked')
  t.equal((await confirm(access, code)).json().code, 'OTP_TOTP_ALREADY_ENABLED')
  const renewed = await app.inject({ method: 'POST', url: '/totp/recovery-codes', headers: { authorization: `Bearer ${access}` } })
  t.equal(renewed.json().recoveryCodes.length, 10)
  clock.now += STEP_MS
  t.equal((await verifyTotp(phone, codeAt(secret, step()))).statusCode, 200)
})

t.test('frozen Redis at DELETE /totp: 503; the late removal stays removed after the retry', async (t) => {
  const { enable, disable, verifyTotp, step, frozenAt, credentialStore } = await freezingApp(t)
  const { access, secret } = await enable(phone)
  t.equal((await frozenAt('disable', async () => await disable(access))).statusCode, 503)
  t.equal((await disable(access)).statusCode, 204, 'the retry')
  await sleep(50)
  t.equal(await credentialStore.get(phone), undefined, 'off, as asked')
  t.equal((await verifyTotp(phone, codeAt(secret, step() + 1))).statusCode, 401)
})

t.test('frozen Redis at /verify-recovery: 503, and the code still works once', async (t) => {
  const { enable, verifyRecovery, frozenAt, undone } = await freezingApp(t)
  const { recoveryCodes } = await enable(phone)
  const code = recoveryCodes[0] ?? ''
  t.equal((await frozenAt('useRecoveryCode', async () => await verifyRecovery(phone, code))).statusCode, 503)
  await undone('useRecoveryCode')
  t.equal((await verifyRecovery(phone, code)).statusCode, 200, 'works')
  t.equal((await verifyRecovery(phone, code)).statusCode, 401, 'once')
})

/** Second-factor mode on `redis`: a user with an authenticator, and a first factor's answer. */
async function enrolled (t: Test, options: Record<string, unknown>) {
  const logs: string[] = []
  const app = await buildTotpApp(t, 'memory', { codeSecret: CODE_SECRET, totpMode: 'second-factor', findOrCreateUser: () => ({ id: 'u1' }), ...options }, logs)
  await app.enable(phone)
  t.ok((await app.firstFactor(phone)).json().mfaRequired, 'the authenticator is asked for')
  return { ...app, logs }
}

const noSmsOnlyTokens = (t: Test, res: { statusCode: number, body: string, json: () => { code?: string } }, logs: string[]): void => {
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'OTP_STORE_UNAVAILABLE')
  t.notMatch(res.body, /access|mfaToken/, 'no tokens, not even a second-factor token')
  t.match(logs.join('\n'), /credential marker missing: Redis lost its data/, 'the error log names the cause')
}

t.test('data loss: FLUSHALL after enrolment, then a right SMS code: 503, never tokens with amr sms', async (t) => {
  const redis = await freshRedis()
  const { firstFactor, logs } = await enrolled(t, { redis })
  await redis.flushall()
  noSmsOnlyTokens(t, await firstFactor(phone), logs)
})

t.test('data loss: redis-server restarted without persistence (acceptDataLoss): 503, never tokens with amr sms', async (t) => {
  const server = await RedisServer.start()
  t.teardown(async () => { await server.stop() })
  const redis = await server.client()
  const { firstFactor, logs } = await enrolled(t, { redis, credentialStore: new RedisCredentialStore(redis, { acceptDataLoss: true }) })
  t.match(logs.join('\n'), /acceptDataLoss/i, 'registration warned of the risk')
  await server.kill()
  t.ok(await server.spawn(), 'restarted, empty')
  if (redis.status !== 'ready') await once(redis, 'ready')
  noSmsOnlyTokens(t, await firstFactor(phone), logs)
})

/** Credentials in SQL (SQLite), codes and sessions in Redis: what a loss of Redis data must not reach. */
async function sqlCredentials (t: Test): Promise<SqlCredentialStore> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) })
  t.teardown(async () => { await db.destroy() })
  const store = new SqlCredentialStore(db)
  await store.migrate()
  return store
}

t.test('credentials in SQL: after FLUSHALL the authenticator is still asked for', async (t) => {
  const redis = await freshRedis()
  const { firstFactor } = await enrolled(t, { redis, credentialStore: await sqlCredentials(t) })
  await redis.flushall()
  const res = await firstFactor(phone)
  t.equal(res.statusCode, 200)
  t.equal(res.json().mfaRequired, true, 'the second factor is asked for, as before')
  t.notMatch(res.body, /"access"/, 'no tokens on the first factor alone')
})

t.test('credentials in SQL: after a restart of Redis without persistence the authenticator is still asked for', async (t) => {
  const server = await RedisServer.start()
  t.teardown(async () => { await server.stop() })
  const redis = await server.client()
  const { firstFactor } = await enrolled(t, { redis, credentialStore: await sqlCredentials(t) })
  await server.kill()
  t.ok(await server.spawn(), 'restarted, empty')
  if (redis.status !== 'ready') await once(redis, 'ready')
  const res = await firstFactor(phone)
  t.equal(res.statusCode, 200)
  t.equal(res.json().mfaRequired, true, 'the second factor is asked for, as before')
})

t.test('the default store refuses a Redis without persistence: ready() fails and says what to change', async (t) => {
  const server = await RedisServer.start()
  t.teardown(async () => { await server.stop() })
  const redis = await server.client()
  t.teardown(() => redis.disconnect())
  await t.rejects(buildTotpApp(t, 'memory', { redis, codeSecret: CODE_SECRET }), /appendonly|persist/i)
})
