import t from 'tap'
import type { TotpStore } from '../lib/index.js'
import { CODE_SECRET, persistentRedisArgs } from './helpers/app.js'
import { RedisServer } from './helpers/redis.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'
const unavailable = {
  statusCode: 503, code: 'OTP_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'Login is unavailable right now; try again shortly'
}

t.test("a host's totpStore that fails: 503 OTP_STORE_UNAVAILABLE on every route, never a token", async (t) => {
  const down = async (): Promise<never> => { throw new Error('ECONNREFUSED db:5432') }
  const totpStore: TotpStore = { get: down, savePending: down, enable: down, useStep: down, useRecoveryCode: down, disable: down }
  const { accessFor, setup, confirm, disable, verifyTotp, verifyRecovery } = await buildTotpApp(t, 'memory', { totpStore })
  const access = await accessFor(phone)
  for (const [name, res] of [
    ['setup', await setup(access)],
    ['confirm', await confirm(access, '123456')],
    ['disable', await disable(access)],
    ['verify-totp', await verifyTotp(phone, '123456')],
    ['verify-recovery', await verifyRecovery(phone, 'abcde-fghjk')]
  ] as const) {
    t.same(res.json(), unavailable, `${name}: no driver message`)
  }
})

t.test('Redis down: /verify-totp and /verify-recovery fail closed', async (t) => {
  const server = await RedisServer.start({ args: persistentRedisArgs })
  t.teardown(() => server.stop())
  const { enable, verifyTotp, verifyRecovery, step } = await buildTotpApp(t, 'memory', { redis: await server.client(), codeSecret: CODE_SECRET })
  const { secret, recoveryCodes } = await enable(phone)
  await server.kill()
  t.same((await verifyTotp(phone, codeAt(secret, step()))).json(), unavailable)
  t.same((await verifyRecovery(phone, recoveryCodes[0] ?? '')).json(), unavailable)
})
