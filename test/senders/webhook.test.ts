import { createHmac } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { verifyWebhookSignature, webhookSender, type WebhookSenderOptions } from '../../lib/index.js'
import { always, startFakeHttp } from '../helpers/fake-http.js'
import { sendArgs } from '../helpers/fake-request.js'

const secret = 'webhook-secret-that-is-long-enough-0001'
const phone = '+919876543210'
// Generous for answers (a loaded machine can be slow); the hang tests pass a short timeout of their own.
const options = (url: string, more: Partial<WebhookSenderOptions> = {}): WebhookSenderOptions =>
  ({ url: `${url}/hooks/otp`, secret, timeout: 5000, ...more })

t.test('POSTs the code as JSON with a timestamp and an HMAC-SHA256 signature over timestamp.body', async (t) => {
  const fake = await startFakeHttp(t, always(204))
  const before = Math.floor(Date.now() / 1000)
  await webhookSender(options(fake.url, { headers: { 'x-api-key': 'gateway-key' } }))(sendArgs('sms', phone, { 'accept-language': 'hi-IN, en;q=0.5' }))
  t.equal(fake.requests.length, 1)
  const request = fake.requests[0]!
  t.equal(request.method, 'POST')
  t.equal(request.url, '/hooks/otp')
  t.equal(request.headers['content-type'], 'application/json')
  t.equal(request.headers['user-agent'], 'fastify-otp-login')
  t.equal(request.headers['x-api-key'], 'gateway-key')
  t.equal(request.body, JSON.stringify({
    channel: 'sms',
    to: phone,
    code: '123456',
    expiresIn: 600,
    locale: 'hi-IN',
    message: 'Your code is 123456. It expires in 10 minutes.'
  }))
  const timestamp = String(request.headers['x-otp-timestamp'])
  t.ok(Number(timestamp) >= before && Number(timestamp) <= before + 2, 'Unix seconds, now')
  t.equal(request.headers['x-otp-signature'], 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex'))
  t.equal(verifyWebhookSignature({
    secret, body: request.body, timestamp: request.headers['x-otp-timestamp'], signature: request.headers['x-otp-signature']
  }), true, 'and the receiver-side check accepts it')
})

t.test("a Fastify receiver verifying as the README shows: accepts the sender's requests, refuses forged ones", async (t) => {
  const received: unknown[] = []
  const receiver = Fastify()
  t.teardown(async () => { await receiver.close() })
  receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const valid = verifyWebhookSignature({
      secret,
      body: body as string,
      timestamp: request.headers['x-otp-timestamp'],
      signature: request.headers['x-otp-signature']
    })
    if (!valid) return done(Object.assign(new Error('bad signature'), { statusCode: 401 }), undefined)
    done(null, JSON.parse(body as string))
  })
  receiver.post('/hooks/otp', async (request, reply) => { received.push(request.body); return await reply.code(204).send() })
  const url = await receiver.listen({ port: 0, host: '127.0.0.1' })

  await webhookSender(options(url))(sendArgs('sms', phone))
  t.match(received, [{ channel: 'sms', to: phone, code: '123456' }])
  await t.rejects(webhookSender(options(url, { secret: secret.replace('0001', '0002') }))(sendArgs('sms', phone)), {
    message: /^webhook answered HTTP 401: .*bad signature/
  })
  t.equal(received.length, 1)
})

t.test('an e-mail code carries subject, text and HTML; locale is null without Accept-Language', async (t) => {
  const fake = await startFakeHttp(t, always(200))
  await webhookSender(options(fake.url, { appName: 'Acme' }))(sendArgs('email', 'ana@example.com'))
  const body = JSON.parse(fake.requests[0]?.body ?? '{}') as Record<string, unknown>
  t.same(Object.keys(body), ['channel', 'to', 'code', 'expiresIn', 'locale', 'message'])
  t.match(body, {
    channel: 'email',
    to: 'ana@example.com',
    code: '123456',
    expiresIn: 600,
    locale: null,
    message: {
      subject: 'Your Acme login code',
      text: 'Your Acme code is 123456. It expires in 10 minutes.\n\nIf you did not ask for this code, you can ignore this e-mail.\n',
      html: /<p>Your Acme code is <strong>123456<\/strong>\. It expires in 10 minutes\.<\/p>/
    }
  })
})

t.test('verifyWebhookSignature refuses a changed body, another secret, an old or future timestamp, bad headers', async (t) => {
  const timestamp = '1767225600'
  const body = '{"channel":"sms","to":"+919876543210","code":"123456"}'
  const signature = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  const now = Number(timestamp) * 1000
  const check = (change: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
    verifyWebhookSignature({ secret, body, timestamp, signature, now, ...change })
  t.equal(check({}), true)
  t.equal(check({ body: Buffer.from(body) }), true, 'a Buffer body works too')
  t.equal(check({ now: now + 300_000 }), true, 'five minutes late is still in the window')
  t.equal(check({ body: body.replace('123456', '123457') }), false, 'changed body')
  t.equal(check({ secret: secret + 'x' }), false, 'another secret')
  t.throws(() => check({ secret: '' }), /secret of at least 32 characters/, 'an empty secret is a mistake, not a key')
  t.throws(() => check({ tolerance: Number.NaN }), /finite, non-negative tolerance/, 'NaN would turn the replay window off')
  t.equal(check({ now: now + 301_000 }), false, 'replayed after the window')
  t.equal(check({ now: now - 301_000 }), false, 'from the future')
  t.equal(check({ now: now + 60_000, tolerance: 30 }), false, 'a tighter tolerance')
  t.equal(check({ timestamp: String(Number(timestamp) + 1) }), false, 'another timestamp')
  t.equal(check({ timestamp: undefined }), false, 'no timestamp')
  t.equal(check({ timestamp: [timestamp, timestamp] }), false, 'a repeated header')
  t.equal(check({ timestamp: '1e9' }), false, 'not digits')
  t.equal(check({ signature: signature.toUpperCase() }), false, 'not the exact hex')
  t.equal(check({ signature: signature.slice(0, -2) }), false, 'too short')
  t.equal(check({ signature: undefined }), false, 'no signature')
})

t.test("any non-2xx answer is a SendError with the receiver's text; a hang times out; no retry", async (t) => {
  const fake = await startFakeHttp(t, always(500, { error: 'queue full', echoed: '123456' }))
  await t.rejects(webhookSender(options(fake.url))(sendArgs('sms', phone)), {
    name: 'OtpSendError',
    status: 500,
    message: 'webhook answered HTTP 500: {"error":"queue full","echoed":"[redacted]"}',
    outcome: 'unknown' // after a 5xx the receiver may have sent it anyway
  })
  fake.answer = () => 'hang'
  await t.rejects(webhookSender(options(fake.url, { timeout: 200 }))(sendArgs('sms', phone)), { message: 'webhook did not answer within 200 ms' })
  t.equal(fake.requests.length, 2)
})

t.test('options are checked when the sender is created', async (t) => {
  const base = options('http://127.0.0.1:1')
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ url: undefined }, /option "url" must be an http or https URL/],
    [{ url: 'not a url' }, /option "url" must be an http or https URL/],
    [{ secret: 'short' }, /option "secret" must be at least 32 characters \(got 5\)/],
    [{ headers: { 'X-OTP-Signature': 'forged' } }, /option "headers.X-OTP-Signature" is set by the sender itself/],
    [{ headers: { 'x-api-key': 1 } }, /option "headers.x-api-key" must be a string/],
    [{ templates: { email: { subject: 'Code', text: 'no code here' } } }, /option "templates.email.text" must contain \{code\}/],
    [{ templates: { email: { subject: 'Code', text: '{code}', footer: 'x' } } }, /option "templates.email.footer" is not a part of an e-mail/],
    [{ templates: { whatsapp: '{code}' } }, /has no channel "whatsapp"/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => webhookSender({ ...base, ...change } as WebhookSenderOptions), message, JSON.stringify(change))
  }
})
