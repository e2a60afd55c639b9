import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp, storeKinds, wrongCode } from './helpers/app.js'

const phone = '+919876543210'
const other = '+919876543211'

function claims (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())
}

for (const kind of storeKinds) {
  t.test(`${kind} store`, async (t) => {
    t.test('the right code gives a token that opens a protected route', async (t) => {
      const { app, login, verify, codeFor } = await buildApp(t, kind)
      await login(phone)
      const res = await verify(phone, codeFor(phone))
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.same(Object.keys(body).sort(), ['access', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
      t.equal(body.tokenType, 'Bearer')
      t.equal(body.expiresIn, 900)
      t.equal(body.refreshExpiresIn, 30 * 86400)
      const c = claims(body.access)
      t.same(Object.keys(c).sort(), ['exp', 'iat', 'jti', 'phone', 'sid', 'sub'])
      t.equal(c.sub, phone)
      t.equal(c.phone, phone)
      t.equal(Number(c.exp) - Number(c.iat), 900)
      const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.access}` } })
      t.equal(me.statusCode, 200)
      t.same(me.json(), c)
    })

    t.test('wrong, never requested, used and expired codes get one and the same 401', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { codeTtl: 1, resendInterval: 0 })
      const answers: string[] = []
      answers.push((await verify(phone, '123456')).body) // never requested
      await login(phone)
      answers.push((await verify(phone, wrongCode(codeFor(phone)))).body) // wrong
      t.equal((await verify(phone, codeFor(phone))).statusCode, 200)
      answers.push((await verify(phone, codeFor(phone))).body) // already used
      await login(phone)
      await sleep(1100)
      answers.push((await verify(phone, codeFor(phone))).body) // expired
      for (const body of answers) {
        t.same(JSON.parse(body), {
          statusCode: 401, code: 'OTP_INVALID', error: 'Unauthorized', message: 'The code is wrong, expired or already used'
        })
      }
    })

    t.test("one number's code does not log in another number", async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind)
      await login(phone)
      await login(other)
      t.equal((await verify(other, codeFor(phone))).statusCode, 401)
      t.equal((await verify(phone, codeFor(phone))).statusCode, 200, 'and it still works for its own number')
    })

    t.test('maxAttempts wrong guesses burn the code: 429 OTP_ATTEMPTS_EXCEEDED, even for the right code', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { maxAttempts: 3, resendInterval: 0 })
      await login(phone)
      const wrong = wrongCode(codeFor(phone))
      t.equal((await verify(phone, wrong)).statusCode, 401)
      t.equal((await verify(phone, wrong)).statusCode, 401)
      const burned = await verify(phone, wrong)
      t.equal(burned.statusCode, 429)
      t.equal(burned.json().code, 'OTP_ATTEMPTS_EXCEEDED')
      t.equal((await verify(phone, codeFor(phone))).json().code, 'OTP_ATTEMPTS_EXCEEDED')
      await login(phone)
      t.equal((await verify(phone, codeFor(phone))).statusCode, 200, 'a new code works')
    })

    t.test('maxFailures across new codes locks the number out, even from the right code', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { maxAttempts: 3, maxFailures: 4, resendInterval: 0, maxSends: 10 })
      await login(phone)
      await verify(phone, wrongCode(codeFor(phone)))
      await verify(phone, wrongCode(codeFor(phone)))
      await login(phone)
      t.equal((await verify(phone, wrongCode(codeFor(phone)))).statusCode, 401)
      const locked = await verify(phone, wrongCode(codeFor(phone)))
      t.equal(locked.statusCode, 429)
      t.equal(locked.json().code, 'OTP_LOCKED')
      t.equal(locked.headers['retry-after'], '3600')
      t.equal(locked.json().retryAfter, 3600)
      const right = await verify(phone, codeFor(phone))
      t.equal(right.json().code, 'OTP_LOCKED', 'the right code is refused too')
      const relogin = await login(phone)
      t.equal(relogin.statusCode, 429)
      t.equal(relogin.json().code, 'OTP_LOCKED')
      t.equal((await login(other)).statusCode, 200, 'other numbers are not affected')
    })

    t.test('success resets the send and failure counters', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { maxSends: 2, maxFailures: 2, maxAttempts: 5, resendInterval: 0 })
      await login(phone)
      await login(phone)
      t.equal((await verify(phone, wrongCode(codeFor(phone)))).statusCode, 401)
      t.equal((await verify(phone, codeFor(phone))).statusCode, 200)
      t.equal((await login(phone)).statusCode, 200, 'sends were reset')
      t.equal((await verify(phone, wrongCode(codeFor(phone)))).statusCode, 401, 'failures were reset: no lockout')
      t.equal((await verify(phone, codeFor(phone))).statusCode, 200)
    })

    t.test('findOrCreateUser gives the subject and extra claims; the plugin keeps its own', async (t) => {
      const calls: string[] = []
      const { login, verify, codeFor } = await buildApp(t, kind, {
        findOrCreateUser: async ({ phone }) => {
          calls.push(phone)
          return { id: 'user-42', role: 'admin', phone: '+10000000000', exp: 1, sub: 'evil' }
        }
      })
      await login(phone)
      t.same(calls, [], 'not called at login')
      const c = claims((await verify(phone, codeFor(phone))).json().access)
      t.same(calls, [phone])
      t.equal(c.sub, 'user-42')
      t.equal(c.role, 'admin')
      t.equal(c.phone, phone)
      t.equal(Number(c.exp) - Number(c.iat), 900)
    })

    t.test('accessTokenTtl sets exp and expiresIn', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { accessTokenTtl: '1h' })
      await login(phone)
      const body = (await verify(phone, codeFor(phone))).json()
      t.equal(body.expiresIn, 3600)
      const c = claims(body.access)
      t.equal(Number(c.exp) - Number(c.iat), 3600)
    })
  })
}
