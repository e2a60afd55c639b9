import { createHmac, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { verifyWebhookSignature, webhookSender, type WebhookSenderOptions, type WebhookSignatureInput } from '../../lib/index.js'
import { always, startFakeHttp, type RecordedRequest } from '../helpers/fake-http.js'
import { sendArgs } from '../helpers/fake-request.js'

// Standard Webhooks secrets: "whsec_" and the base64 of random bytes (here 32, fixed for repeatable tests).
const secret = 'whsec_' + Buffer.alloc(32, 1).toString('base64')
const otherSecret = 'whsec_' + Buffer.alloc(32, 2).toString('base64')
const phone = '+919876543210'
// Generous for answers (a loaded machine can be slow); the hang tests pass a short timeout of their own.
const options = (url: string, more: Partial<WebhookSenderOptions> = {}): WebhookSenderOptions =>
  ({ url: `${url}/hooks/otp`, secret, timeout: 5000, ...more })
const standardHeaders = (request: RecordedRequest): Record<string, string> => ({
  'webhook-id': String(request.headers['webhook-id']),
  'webhook-timestamp': String(request.headers['webhook-timestamp']),
  'webhook-signature': String(request.headers['webhook-signature'])
})

t.test('POSTs the code as JSON signed by the Standard Webhooks scheme, which the standardwebhooks package accepts', async (t) => {
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
  const payload = {
    channel: 'sms',
    to: phone,
    code: '123456',
    expiresIn: 600,
    locale: 'hi-IN',
    message: 'Your code is 123456. It expires in 10 minutes.'
  }
  t.equal(request.body, JSON.stringify(payload))

  const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = standardHeaders(request)
  t.match(id, /^msg_[A-Za-z0-9_-]{22}$/, 'msg_ and 16 random bytes')
  t.ok(Number(timestamp) >= before && Number(timestamp) <= before + 2, 'Unix seconds, now')
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  t.equal(signature, 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest('base64'),
    'v1, and the base64 HMAC-SHA256 of id.timestamp.body under the decoded secret')
  t.same(new Webhook(secret).verify(request.body, standardHeaders(request)), payload, 'standardwebhooks verifies it')
  t.throws(() => new Webhook(otherSecret).verify(request.body, standardHeaders(request)), { name: 'WebhookVerificationError' })
  t.equal(verifyWebhookSignature({ secret, body: request.body, id, timestamp, signature }), true, 'and so does our own check')
})

t.test('every delivery has its own webhook-id', async (t) => {
  const fake = await startFakeHttp(t, always(204))
  const send = webhookSender(options(fake.url))
  for (let i = 0; i < 5; i++) await send(sendArgs('sms', phone))
  const ids = new Set(fake.requests.map((request) => request.headers['webhook-id']))
  t.equal(ids.size, 5)
})

t.test("a Fastify receiver verifying with standardwebhooks as the README shows: accepts the sender's requests, refuses forged ones", async (t) => {
  const received: unknown[] = []
  const receiver = Fastify()
  t.teardown(async () => { await receiver.close() })
  const webhook = new Webhook(secret)
  receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, webhook.verify(body, request.headers as Record<string, string>))
    } catch {
      done(Object.assign(new Error('bad signature'), { statusCode: 401 }), undefined)
    }
  })
  receiver.post('/hooks/otp', async (request, reply) => { received.push(request.body); return await reply.code(204).send() })
  const url = await receiver.listen({ port: 0, host: '127.0.0.1' })

  await webhookSender(options(url))(sendArgs('sms', phone))
  t.match(received, [{ channel: 'sms', to: phone, code: '123456' }])
  await t.rejects(webhookSender(options(url, { secret: otherSecret }))(sendArgs('sms', phone)), {
    message: /^webhook answered HTTP 401: .*bad signature/
  })
  t.equal(received.length, 1)
})

t.test('a receiver verifying with verifyWebhookSignature as the README shows', async (t) => {
  const received: unknown[] = []
  const receiver = Fastify()
  t.teardown(async () => { await receiver.close() })
  receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const valid = verifyWebhookSignature({
      secret,
      body: body as string,
      id: request.headers['webhook-id'],
      timestamp: request.headers['webhook-timestamp'],
      signature: request.headers['webhook-signature']
    })
    if (!valid) return done(Object.assign(new Error('bad signature'), { statusCode: 401 }), undefined)
    done(null, JSON.parse(body as string))
  })
  receiver.post('/hooks/otp', async (request, reply) => { received.push(request.body); return await reply.code(204).send() })
  const url = await receiver.listen({ port: 0, host: '127.0.0.1' })

  await webhookSender(options(url))(sendArgs('email', 'ana@example.com'))
  t.match(received, [{ channel: 'email', to: 'ana@example.com', code: '123456' }])
  await t.rejects(webhookSender(options(url, { secret: otherSecret }))(sendArgs('sms', phone)), { message: /^webhook answered HTTP 401/ })
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

// A message signed by the standardwebhooks package, as any Standard Webhooks sender would sign it.
const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'
const timestamp = '1767225600'
const now = Number(timestamp) * 1000
const body = '{"channel":"sms","to":"+919876543210","code":"123456"}'
const signature = new Webhook(secret).sign(id, new Date(now), body)
const valid: WebhookSignatureInput = { secret, body, id, timestamp, signature, now }
const check = (change: Partial<WebhookSignatureInput>): boolean => verifyWebhookSignature({ ...valid, ...change })

t.test('verifyWebhookSignature accepts what standardwebhooks signs, with several signatures and rotated secrets', async (t) => {
  t.match(signature, /^v1,[A-Za-z0-9+/]{43}=$/)
  t.equal(check({}), true)
  t.equal(check({ body: Buffer.from(body) }), true, 'a Buffer body works too')
  t.equal(check({ now: now + 300_000 }), true, 'five minutes late is still in the window')
  t.equal(check({ now: now - 300_000 }), true, 'and five minutes early')
  const withOther = new Webhook(otherSecret).sign(id, new Date(now), body)
  t.equal(check({ signature: `${withOther} ${signature}` }), true, 'one of several space-separated signatures (a rotated secret)')
  t.equal(check({ signature: `${signature} ${withOther}` }), true, 'in any place')
  t.equal(check({ signature: `v1a,${signature.slice(3)} ${signature}` }), true, 'other versions are skipped')
  const unicode = '{"to":"ana@xn--bcher-kva.de","message":"Ihr Code für Bücher"}'
  t.equal(check({ body: unicode, signature: new Webhook(secret).sign(id, new Date(now), unicode) }), true, 'UTF-8 bodies')
  const bigKey = 'whsec_' + randomBytes(64).toString('base64')
  t.equal(check({ secret: bigKey, signature: new Webhook(bigKey).sign(id, new Date(now), body) }), true, 'a 64-byte secret')
})

t.test('verifyWebhookSignature refuses a changed body, id or timestamp, another secret, an old or future timestamp', async (t) => {
  t.equal(check({ body: body.replace('123456', '123457') }), false, 'changed body')
  t.equal(check({ id: id + 'x' }), false, 'another id')
  t.equal(check({ timestamp: String(Number(timestamp) + 1) }), false, 'another timestamp')
  t.equal(check({ secret: otherSecret }), false, 'another secret')
  t.equal(check({ now: now + 301_000 }), false, 'replayed after the window')
  t.equal(check({ now: now - 301_000 }), false, 'from the future')
  t.equal(check({ now: now + 60_000, tolerance: 30 }), false, 'a tighter tolerance')
  t.equal(check({ signature: new Webhook(otherSecret).sign(id, new Date(now), body) }), false, 'only a signature under another secret')
  t.equal(check({ signature: signature.replace('v1,', 'v1a,') }), false, 'the right bytes under another version')
  t.equal(check({ signature: signature.slice(0, -2) + '=' }), false, 'cut short')
  t.equal(check({ signature: signature.slice(3) }), false, 'no version')
  const oldScheme = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  t.equal(check({ signature: oldScheme }), false, "the plugin's former x-otp-signature scheme")
})

t.test('verifyWebhookSignature returns false, never true and never a throw, for malformed input', async (t) => {
  const throwing = Object.defineProperty({ ...valid }, 'body', { get () { throw new Error('boom') }, enumerable: true })
  const hostile = new Proxy({}, { get () { throw new Error('boom') } })
  const cases: Array<[string, unknown]> = [
    ['null input', null],
    ['undefined input', undefined],
    ['a string input', 'webhook'],
    ['an empty object', {}],
    ['now NaN', { ...valid, now: Number.NaN }],
    ['now Infinity', { ...valid, now: Number.POSITIVE_INFINITY }],
    ['now a string', { ...valid, now: String(now) }],
    ['now null', { ...valid, now: null }],
    ['missing body', { ...valid, body: undefined }],
    ['null body', { ...valid, body: null }],
    ['body a number', { ...valid, body: 42 }],
    ['body parsed JSON', { ...valid, body: JSON.parse(body) }],
    ['non-numeric timestamp', { ...valid, timestamp: 'yesterday' }],
    ['timestamp in exponent notation', { ...valid, timestamp: '1.7e9' }],
    ['timestamp with a fraction', { ...valid, timestamp: `${timestamp}.0` }],
    ['timestamp with spaces', { ...valid, timestamp: ` ${timestamp}` }],
    ['negative timestamp', { ...valid, timestamp: `-${timestamp}` }],
    ['empty timestamp', { ...valid, timestamp: '' }],
    ['timestamp a number', { ...valid, timestamp: Number(timestamp) }],
    ['missing timestamp', { ...valid, timestamp: undefined }],
    ['repeated timestamp header', { ...valid, timestamp: [timestamp, timestamp] }],
    ['missing id', { ...valid, id: undefined }],
    ['empty id', { ...valid, id: '' }],
    ['id a number', { ...valid, id: 1 }],
    ['repeated id header', { ...valid, id: [id, id] }],
    ['missing signature', { ...valid, signature: undefined }],
    ['empty signature', { ...valid, signature: '' }],
    ['signature an object', { ...valid, signature: { v1: signature.slice(3) } }],
    ['repeated signature header', { ...valid, signature: [signature, signature] }],
    ['signature not base64', { ...valid, signature: 'v1,!!!not*base64!!!' }],
    ['signature "v1," alone', { ...valid, signature: 'v1,' }],
    ['missing headers', { secret, body, now }],
    ['missing secret', { ...valid, secret: undefined }],
    ['empty secret', { ...valid, secret: '' }],
    ['secret a Buffer', { ...valid, secret: Buffer.alloc(32, 1) }],
    ['secret without whsec_', { ...valid, secret: secret.slice('whsec_'.length) }],
    ['secret "whsec_" alone', { ...valid, secret: 'whsec_' }],
    ['secret not base64', { ...valid, secret: 'whsec_' + '*'.repeat(44) }],
    ['secret in base64url', { ...valid, secret: 'whsec_' + Buffer.alloc(33, 0xfb).toString('base64url') }],
    ['secret of 16 bytes', { ...valid, secret: 'whsec_' + Buffer.alloc(16, 1).toString('base64') }],
    ['secret of 65 bytes', { ...valid, secret: 'whsec_' + Buffer.alloc(65, 1).toString('base64') }],
    ['tolerance NaN', { ...valid, tolerance: Number.NaN }],
    ['tolerance Infinity', { ...valid, tolerance: Number.POSITIVE_INFINITY }],
    ['negative tolerance', { ...valid, tolerance: -1 }],
    ['tolerance a string', { ...valid, tolerance: '300' }],
    ['a throwing getter', throwing],
    ['a hostile Proxy', hostile]
  ]
  for (const [name, input] of cases) {
    let result: unknown
    t.doesNotThrow(() => { result = verifyWebhookSignature(input as WebhookSignatureInput) }, name)
    t.equal(result, false, name)
  }
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
  const standard = /option "secret" must be a Standard Webhooks secret, "whsec_" and the base64 of 24 to 64 random bytes \("whsec_" \+ crypto\.randomBytes\(32\)\.toString\('base64'\) makes one\); /
  const secretCases: Array<[unknown, string]> = [
    [undefined, 'got no string'],
    [32, 'got no string'],
    ['webhook-secret-that-is-long-enough-0001', 'got 39 characters without "whsec_"'],
    [Buffer.alloc(32, 1).toString('base64'), 'got 44 characters without "whsec_"'],
    ['whsec_', 'got 6 characters that are not "whsec_" and standard base64'],
    ['whsec_not-base64-at-all!', 'got 24 characters that are not "whsec_" and standard base64'],
    ['whsec_' + Buffer.alloc(32, 0xfb).toString('base64url'), 'got 49 characters that are not "whsec_" and standard base64'],
    ['whsec_' + Buffer.alloc(32, 1).toString('base64').replace('=', ''), 'got 49 characters that are not "whsec_" and standard base64'],
    ['whsec_' + Buffer.alloc(16, 1).toString('base64'), 'got 16 bytes'],
    ['whsec_' + Buffer.alloc(65, 1).toString('base64'), 'got 65 bytes']
  ]
  for (const [value, reason] of secretCases) {
    const err = t.throws(() => webhookSender({ ...base, secret: value } as WebhookSenderOptions), standard, reason) as Error
    t.ok(err.message.endsWith(reason), reason)
    if (typeof value === 'string' && value.length > 'whsec_'.length) t.notOk(err.message.includes(value.slice(6)), 'never echoes the secret')
  }
  t.doesNotThrow(() => webhookSender({ ...base, secret: 'whsec_' + randomBytes(24).toString('base64') }), '24 bytes')
  t.doesNotThrow(() => webhookSender({ ...base, secret: 'whsec_' + randomBytes(64).toString('base64') }), '64 bytes')

  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ url: undefined }, /option "url" must be an http or https URL/],
    [{ url: 'not a url' }, /option "url" must be an http or https URL/],
    [{ headers: { 'Webhook-Signature': 'forged' } }, /option "headers.Webhook-Signature" is set by the sender itself/],
    [{ headers: { 'webhook-id': 'msg_1' } }, /option "headers.webhook-id" is set by the sender itself/],
    [{ headers: { 'webhook-timestamp': '0' } }, /option "headers.webhook-timestamp" is set by the sender itself/],
    [{ headers: { 'x-api-key': 1 } }, /option "headers.x-api-key" must be a string/],
    [{ templates: { email: { subject: 'Code', text: 'no code here' } } }, /option "templates.email.text" must contain \{code\}/],
    [{ templates: { email: { subject: 'Code', text: '{code}', footer: 'x' } } }, /option "templates.email.footer" is not a part of an e-mail/],
    [{ templates: { whatsapp: '{code}' } }, /has no channel "whatsapp"/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => webhookSender({ ...base, ...change } as WebhookSenderOptions), message, JSON.stringify(change))
  }
})
