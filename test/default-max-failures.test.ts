import t from 'tap'
import { buildApp, storeKinds, wrongCode } from './helpers/app.js'

const phone = '+919876543210'

for (const kind of storeKinds) {
  t.test(`${kind} store: without a maxFailures option, the 10th wrong guess locks the number out and the 9th does not`, async (t) => {
    // maxAttempts keeps its default (5): four wrong guesses per code never burn one, so every guess is counted.
    const { login, verify, codeFor } = await buildApp(t, kind, { resendInterval: 0, maxSends: 10 })
    const guess = async (): Promise<{ status: number, code: string }> => {
      const res = await verify(phone, wrongCode(codeFor(phone)))
      return { status: res.statusCode, code: res.json().code }
    }
    for (const perCode of [4, 4]) {
      t.equal((await login(phone)).statusCode, 200, 'a new code')
      for (let i = 0; i < perCode; i++) t.same(await guess(), { status: 401, code: 'OTP_INVALID' })
    }
    t.equal((await login(phone)).statusCode, 200, 'a third code')
    t.same(await guess(), { status: 401, code: 'OTP_INVALID' }, 'the 9th wrong guess: not locked')
    t.same(await guess(), { status: 429, code: 'OTP_LOCKED' }, 'the 10th wrong guess locks')
    const right = await verify(phone, codeFor(phone))
    t.equal(right.json().code, 'OTP_LOCKED', 'then even the right code is refused')
  })
}
