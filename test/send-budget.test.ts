import t from 'tap'
import { SendError } from '../lib/index.js'
import { buildApp, storeKinds } from './helpers/app.js'

for (const kind of storeKinds) {
  t.test(`${kind} store: SMS budget per country calling code`, async (t) => {
    const logs: string[] = []
    const { login, verify, sent } = await buildApp(t, kind, {
      smsBudget: { 91: 2, '*': 1 }, identifierKinds: ['phone', 'email'], resendInterval: 0
    }, logs)
    t.equal((await login('+919876543210')).statusCode, 200)
    t.equal((await login('+919876543211')).statusCode, 200)
    const over = await login('+919876543212')
    t.equal(over.statusCode, 429)
    t.equal(over.json().code, 'OTP_SEND_BUDGET_EXCEEDED')
    const retryAfter = Number(over.headers['retry-after'])
    t.ok(retryAfter > 3590 && retryAfter <= 3600, `Retry-After ${retryAfter}`)
    t.equal(sent.length, 2, 'nothing sent past the budget')
    const warning = logs.map((line) => JSON.parse(line)).find((entry) => /OTP_SEND_BUDGET_EXCEEDED/.test(entry.msg))
    t.match(warning, { level: 40, callingCode: '91', limit: 2 }, 'a warning in the log')
    t.equal((await verify('+919876543212', '000000')).statusCode, 401, 'no code was left behind')
    t.equal((await login('+919876543212')).json().code, 'OTP_SEND_BUDGET_EXCEEDED', 'the refused send did not start a resend wait')

    t.equal((await login('+16502530000')).statusCode, 200, "another country has its own budget ('*')")
    t.equal((await login('+16502530001')).json().code, 'OTP_SEND_BUDGET_EXCEEDED')
    t.equal((await login('ana@example.com')).statusCode, 200, 'e-mail is not counted')
    t.equal((await login('bo@example.com')).statusCode, 200)
  })

  t.test(`${kind} store: a send that surely failed goes back to the SMS budget; one that may have been delivered does not`, async (t) => {
    let outcome: 'delivered' | 'refused' | 'unknown' = 'refused'
    const delivered: string[] = []
    const { login } = await buildApp(t, kind, {
      smsBudget: { 91: 1 },
      resendInterval: 0,
      send: ({ to }) => {
        if (outcome !== 'delivered') throw new SendError('Twilio', 'failed', { outcome })
        delivered.push(to)
      }
    })
    for (const to of ['+919876543210', '+919876543211']) t.equal((await login(to)).json().code, 'OTP_DELIVERY_FAILED', `${to}: refused by the provider`)
    outcome = 'delivered'
    t.equal((await login('+919876543212')).statusCode, 200, 'the budget of one counted neither failed send')
    t.equal((await login('+919876543213')).json().code, 'OTP_SEND_BUDGET_EXCEEDED', 'but the one delivered')
    t.same(delivered, ['+919876543212'])

    const other = await buildApp(t, kind, {
      smsBudget: { 91: 1 },
      resendInterval: 0,
      send: ({ to }) => {
        if (to === '+919876543210') throw new SendError('Twilio', 'timed out', { outcome: 'unknown' })
      }
    })
    t.equal((await other.login('+919876543210')).json().code, 'OTP_DELIVERY_FAILED', 'an outcome unknown')
    t.equal((await other.login('+919876543211')).json().code, 'OTP_SEND_BUDGET_EXCEEDED', 'may have reached a phone: still counted')
  })
}
