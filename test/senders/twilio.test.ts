import { performance } from 'node:perf_hooks'
import t from 'tap'
import { SendError, twilioSender, type TwilioSenderOptions } from '../../lib/index.js'
import { TWILIO_SID, TWILIO_TOKEN, startFakeTwilio } from '../helpers/fake-twilio.js'
import { closedPort, sendArgs } from '../helpers/fake-request.js'

const phone = '+919876543210'
// Generous for answers (a loaded machine can be slow); the hang tests pass a short timeout of their own.
const options = (baseUrl: string, more: Partial<TwilioSenderOptions> = {}): TwilioSenderOptions =>
  ({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, from: '+15005550006', baseUrl, timeout: 5000, ...more })

t.test('one POST to the Messages API: path, Basic auth, form body with the default text', async (t) => {
  const fake = await startFakeTwilio(t)
  await twilioSender(options(fake.url))(sendArgs('sms', phone))
  t.equal(fake.requests.length, 1)
  const [request] = fake.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.url, `/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`)
  t.equal(request?.headers.authorization, 'Basic ' + Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64'))
  t.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded')
  t.same([...new URLSearchParams(request?.body)], [
    ['To', phone],
    ['Body', 'Your code is 123456. It expires in 10 minutes.'],
    ['From', '+15005550006']
  ])
})

t.test('a messaging service instead of a number, and appName in the default text', async (t) => {
  const fake = await startFakeTwilio(t)
  const send = twilioSender(options(fake.url, { from: undefined, messagingServiceSid: 'MG' + 'a'.repeat(32), appName: 'Acme' }))
  await send(sendArgs('sms', phone, {}, '987654', 60))
  t.same(Object.fromEntries(new URLSearchParams(fake.requests[0]?.body)), {
    To: phone,
    Body: 'Your Acme code is 987654. It expires in 1 minute.',
    MessagingServiceSid: 'MG' + 'a'.repeat(32)
  })
})

t.test('templates: a string with placeholders, or a function given the locale from Accept-Language', async (t) => {
  const fake = await startFakeTwilio(t)
  await twilioSender(options(fake.url, { appName: 'Acme', templates: { sms: '{appName}: {code} ({minutes} min, {expiresIn}s)' } }))(sendArgs('sms', phone))
  const german = twilioSender(options(fake.url, {
    templates: {
      sms: ({ code, minutes, locale }) => locale?.startsWith('de') === true
        ? `Dein Code lautet ${code}. Er ist ${minutes} Minuten gültig.`
        : `Your code is ${code}.`
    }
  }))
  await german(sendArgs('sms', phone, { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' }))
  await german(sendArgs('sms', phone, { 'accept-language': 'en-GB' }))
  t.same(fake.requests.map((r) => new URLSearchParams(r.body).get('Body')), [
    'Acme: 123456 (10 min, 600s)',
    'Dein Code lautet 123456. Er ist 10 Minuten gültig.',
    'Your code is 123456.'
  ])
})

t.test('a template function that drops the code fails the send, before anything is sent', async (t) => {
  const fake = await startFakeTwilio(t)
  const send = twilioSender(options(fake.url, { templates: { sms: () => 'Your code is on its way' } }))
  await t.rejects(send(sendArgs('sms', phone)), /sms template returned a text without the code/)
  t.equal(fake.requests.length, 0)
})

t.test("Twilio's error answer becomes a SendError with its status and text, the code masked; no retry", async (t) => {
  const fake = await startFakeTwilio(t)
  fake.answer = (request) => ({
    status: 400,
    body: { code: 21211, message: `The 'To' number is not valid; body was: ${new URLSearchParams(request.body).get('Body') ?? ''}`, status: 400 }
  })
  const err = await twilioSender(options(fake.url))(sendArgs('sms', phone)).catch((e: unknown) => e)
  t.ok(err instanceof SendError)
  t.equal((err as SendError).status, 400)
  t.equal((err as SendError).provider, 'Twilio')
  t.equal((err as Error).name, 'OtpSendError')
  t.match((err as Error).message, /^Twilio answered HTTP 400: \{"code":21211,"message":"The 'To' number is not valid; body was: Your code is \[redacted\]/)
  t.notMatch((err as Error).message, /123456/)
  t.equal(fake.requests.length, 1, 'sent once, not retried')
})

t.test('wrong credentials: 401 from the fake, as from Twilio', async (t) => {
  const fake = await startFakeTwilio(t)
  await t.rejects(twilioSender(options(fake.url, { authToken: 'wrong' }))(sendArgs('sms', phone)), {
    name: 'OtpSendError',
    status: 401,
    message: /^Twilio answered HTTP 401: .*"code":20003,"message":"Authenticate"/,
    outcome: 'refused'
  })
})

t.test('a provider that hangs: the send fails at the timeout, once', async (t) => {
  const fake = await startFakeTwilio(t)
  fake.answer = () => 'hang'
  const started = performance.now()
  await t.rejects(twilioSender(options(fake.url, { timeout: 200 }))(sendArgs('sms', phone)), { name: 'OtpSendError', message: 'Twilio did not answer within 200 ms', outcome: 'unknown' })
  const took = performance.now() - started
  t.ok(took >= 190 && took < 3000, `gave up after ${Math.round(took)} ms`)
  t.equal(fake.requests.length, 1)
})

t.test('the default timeout is 5 seconds', async (t) => {
  const fake = await startFakeTwilio(t)
  fake.answer = () => 'hang'
  const started = performance.now()
  await t.rejects(twilioSender(options(fake.url, { timeout: undefined }))(sendArgs('sms', phone)), { message: 'Twilio did not answer within 5000 ms' })
  const took = performance.now() - started
  t.ok(took >= 4990 && took < 7000, `gave up after ${Math.round(took)} ms`)
})

t.test('nothing listening, or a redirect: failures, and the redirect is not followed', async (t) => {
  await t.rejects(twilioSender(options(`http://127.0.0.1:${await closedPort()}`))(sendArgs('sms', phone)), {
    message: 'Twilio could not be reached (ECONNREFUSED)',
    outcome: 'refused'
  })
  const fake = await startFakeTwilio(t)
  fake.answer = (request) => request.url.startsWith('/elsewhere') ? { status: 201, body: {} } : { status: 307, headers: { location: '/elsewhere' } }
  await t.rejects(twilioSender(options(fake.url))(sendArgs('sms', phone)), { message: /^Twilio answered HTTP 307/ })
  t.same(fake.requests.map((r) => r.url), [`/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`])
})

t.test('an e-mail code is refused: Twilio sends SMS', async (t) => {
  const fake = await startFakeTwilio(t)
  await t.rejects(twilioSender(options(fake.url))(sendArgs('email', 'ana@example.com')), /twilioSender delivers SMS only/)
  t.equal(fake.requests.length, 0)
})

t.test('options are checked when the sender is created', async (t) => {
  const base = options('http://127.0.0.1:1')
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ accountSid: undefined }, /option "accountSid" is required/],
    [{ authToken: '' }, /option "authToken" is required/],
    [{ from: undefined }, /option "from" or "messagingServiceSid" is required, and only one/],
    [{ messagingServiceSid: 'MG1' }, /option "from" or "messagingServiceSid" is required, and only one/],
    [{ baseUrl: 'ftp://example.com' }, /option "baseUrl" must be an http or https URL/],
    [{ timeout: 0 }, /option "timeout" must be a whole number of milliseconds/],
    [{ timeout: 1.5 }, /option "timeout"/],
    [{ authtoken: 'typo' }, /twilioSender has no option "authtoken"/],
    [{ templates: { email: { subject: 's', text: '{code}' } } }, /option "templates" has no channel "email"/],
    [{ templates: { sms: 'Your code is ready' } }, /option "templates.sms" must contain \{code\}/],
    [{ templates: { sms: '{code} {cod}' } }, /unknown placeholder \{cod\}/],
    [{ templates: { sms: '{appName}: {code}' } }, /uses \{appName\}, so the option "appName" is required/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => twilioSender({ ...base, ...change } as unknown as TwilioSenderOptions), message, JSON.stringify(change))
  }
})
