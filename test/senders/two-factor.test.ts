import t from 'tap'
import { twoFactorSender, type TwoFactorSenderOptions } from '../../lib/index.js'
import { TWO_FACTOR_KEY, startFake2Factor } from '../helpers/fake-2factor.js'
import { sendArgs } from '../helpers/fake-request.js'

const phone = '+919876543210'
// Generous for answers (a loaded machine can be slow); the hang tests pass a short timeout of their own.
const options = (baseUrl: string, more: Partial<TwoFactorSenderOptions> = {}): TwoFactorSenderOptions =>
  ({ apiKey: TWO_FACTOR_KEY, baseUrl, timeout: 5000, ...more })

t.test('one GET /API/V1/{key}/SMS/{number}/{code}, the number without its +', async (t) => {
  const fake = await startFake2Factor(t)
  await twoFactorSender(options(fake.url))(sendArgs('sms', phone))
  t.same(fake.requests.map(({ method, url, body }) => ({ method, url, body })), [
    { method: 'GET', url: `/API/V1/${TWO_FACTOR_KEY}/SMS/919876543210/123456`, body: '' }
  ])
})

t.test('with a template name: it is the last path segment, escaped', async (t) => {
  const fake = await startFake2Factor(t)
  await twoFactorSender(options(fake.url, { templateName: 'Login OTP' }))(sendArgs('sms', phone))
  t.equal(fake.requests[0]?.url, `/API/V1/${TWO_FACTOR_KEY}/SMS/919876543210/123456/Login%20OTP`)
})

t.test('HTTP 200 with "Status": "Error" is a failure; the key and code are masked in the message', async (t) => {
  const fake = await startFake2Factor(t)
  await t.rejects(twoFactorSender(options(fake.url, { apiKey: 'not-the-key' }))(sendArgs('sms', phone)), {
    name: 'OtpSendError',
    status: 200,
    message: '2Factor answered HTTP 200 without "Status": "Success": {"Status":"Error","Details":"Invalid API Key - Not Found"}'
  })
  fake.answer = (request) => ({ status: 200, body: { Status: 'Error', Details: `Bad request ${request.url}` } })
  const err = await twoFactorSender(options(fake.url))(sendArgs('sms', phone)).catch((e: unknown) => e) as Error
  t.equal(err.message, '2Factor answered HTTP 200 without "Status": "Success": {"Status":"Error","Details":"Bad request /API/V1/[redacted]/SMS/919876543210/[redacted]"}')
  t.equal(fake.requests.length, 2, 'one request per send, no retry')
})

t.test('an HTTP error, or a 200 that is not JSON, is a failure', async (t) => {
  const fake = await startFake2Factor(t)
  fake.answer = () => ({ status: 503, body: '<html>Service Unavailable</html>' })
  await t.rejects(twoFactorSender(options(fake.url))(sendArgs('sms', phone)), {
    status: 503, message: '2Factor answered HTTP 503: <html>Service Unavailable</html>'
  })
  fake.answer = () => ({ status: 200, body: 'OK' })
  await t.rejects(twoFactorSender(options(fake.url))(sendArgs('sms', phone)), { message: /^2Factor answered HTTP 200 without "Status": "Success": OK$/ })
})

t.test('a provider that hangs: the send fails at the timeout', async (t) => {
  const fake = await startFake2Factor(t)
  fake.answer = () => 'hang'
  await t.rejects(twoFactorSender(options(fake.url, { timeout: 200 }))(sendArgs('sms', phone)), { message: '2Factor did not answer within 200 ms' })
  t.equal(fake.requests.length, 1)
})

t.test('e-mail is refused; options are checked at creation; 2Factor writes the text, so no templates', async (t) => {
  const fake = await startFake2Factor(t)
  await t.rejects(twoFactorSender(options(fake.url))(sendArgs('email', 'ana@example.com')), /twoFactorSender delivers SMS only/)
  t.equal(fake.requests.length, 0)
  t.throws(() => twoFactorSender({ baseUrl: fake.url } as unknown as TwoFactorSenderOptions), /option "apiKey" is required/)
  t.throws(() => twoFactorSender({ ...options(fake.url), templates: { sms: '{code}' } } as unknown as TwoFactorSenderOptions),
    /twoFactorSender has no option "templates"/)
  t.throws(() => twoFactorSender(options(fake.url, { templateName: '' })), /option "templateName" is required and must be a non-empty string/)
})
