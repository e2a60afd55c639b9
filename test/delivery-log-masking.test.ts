import t from 'tap'
import { buildApp } from './helpers/app.js'

t.test('a provider error that echoes the number without its + is logged with the number masked', async (t) => {
  const logs: string[] = []
  const { login } = await buildApp(t, 'memory', {
    send: () => { throw new Error('Provider 21211: invalid "To" number 919876543210, message to 919876543210 not sent') }
  }, logs)
  const res = await login('+919876543210')
  t.equal(res.statusCode, 502)
  const failure = logs.find((line) => line.includes('OTP_DELIVERY_FAILED'))
  t.ok(failure, 'the failure is logged')
  t.match(JSON.parse(failure ?? '{}').reason, /invalid "To" number 91\*+3210, message to 91\*+3210 not sent/, 'with the number masked')
  t.same(logs.filter((line) => line.includes('919876543210')), [], 'no log line has the number')
})
