import Fastify from 'fastify'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import otpLogin, { twilioSender, webhookSender } from '../../lib/index.js'
import { buildApp, JWT_SECRET } from '../helpers/app.js'
import { always, startFakeHttp, type Tap } from '../helpers/fake-http.js'
import { TWILIO_SID, TWILIO_TOKEN, startFakeTwilio, twilioAnswer } from '../helpers/fake-twilio.js'

const phone = '+919876543210'
const twilio = (baseUrl: string, timeout = 5000) =>
  twilioSender({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, from: '+15005550006', baseUrl, timeout, appName: 'Acme' })
const codeIn = (body: string | undefined): string => /\b(\d{6})\b/.exec(new URLSearchParams(body).get('Body') ?? '')?.[1] ?? 'none'

t.test('through the plugin: the code Twilio was asked to send logs the user in', async (t) => {
  const fake = await startFakeTwilio(t)
  const { app, verify } = await buildApp(t, 'memory', { send: twilio(fake.url) })
  const res = await app.inject({ method: 'POST', url: '/login', payload: { phone }, headers: { 'accept-language': 'en-IN' } })
  t.equal(res.statusCode, 200)
  t.equal(fake.requests.length, 1)
  const body = new URLSearchParams(fake.requests[0]?.body)
  t.equal(body.get('To'), phone)
  t.match(body.get('Body'), /^Your Acme code is \d{6}\. It expires in 10 minutes\.$/)
  t.equal((await verify(phone, codeIn(fake.requests[0]?.body))).statusCode, 200)
})

// buildApp's app logs nothing, so the failure cases build one with a logger that keeps its lines.
async function loggedApp (t: Tap, baseUrl: string, timeout?: number) {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(async () => { await app.close() })
  await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, resendInterval: 0, send: twilio(baseUrl, timeout) })
  await app.ready()
  const post = async (url: string, payload: Record<string, string>) => await app.inject({ method: 'POST', url, payload })
  return { lines, post }
}

const deliveryFailed = {
  statusCode: 502,
  code: 'OTP_DELIVERY_FAILED',
  error: 'Bad Gateway',
  message: 'The code could not be delivered; try again'
}

t.test("a provider 500 gives 502 OTP_DELIVERY_FAILED; Twilio's answer is in the log, not the response; the code is dead", async (t) => {
  const fake = await startFakeTwilio(t)
  fake.answer = (request) => ({
    status: 500,
    body: { code: 20500, message: `Internal Server Error while sending "${new URLSearchParams(request.body).get('Body') ?? ''}"`, status: 500 }
  })
  const { lines, post } = await loggedApp(t, fake.url)
  const res = await post('/login', { phone })
  t.equal(res.statusCode, 502)
  t.same(res.json(), deliveryFailed)
  t.notMatch(res.body, /Twilio|Internal Server Error|20500/, 'nothing of the provider reaches the client')
  t.equal(fake.requests.length, 1, 'one attempt, no retry')

  const code = codeIn(fake.requests[0]?.body)
  const log = lines.join('')
  t.match(log, 'OtpSendError: Twilio answered HTTP 500: {\\"code\\":20500,\\"message\\":\\"Internal Server Error while sending \\\\\\"Your Acme code is [redacted]')
  t.match(log, 'fastify-otp-login: OTP_DELIVERY_FAILED')
  t.notOk(log.includes(code), 'the code is not in the log')
  t.equal((await post('/verify-otp', { phone, otp: code })).statusCode, 401, 'the undelivered code does not work')

  fake.answer = twilioAnswer
  t.equal((await post('/login', { phone })).statusCode, 200, 'Twilio back: the next login goes through')
})

t.test('a provider that hangs gives 502 OTP_DELIVERY_FAILED after the timeout, and a log line saying so', async (t) => {
  const fake = await startFakeTwilio(t)
  fake.answer = () => 'hang'
  const { lines, post } = await loggedApp(t, fake.url, 200)
  const started = Date.now()
  const res = await post('/login', { phone })
  t.ok(Date.now() - started < 3000, 'the client is not kept waiting beyond the timeout')
  t.equal(res.statusCode, 502)
  t.same(res.json(), deliveryFailed)
  t.match(lines.join(''), 'OtpSendError: Twilio did not answer within 200 ms')
  t.notOk(lines.join('').includes(codeIn(fake.requests[0]?.body)))
})

t.test('through the plugin: an e-mail code goes to the webhook signed by Standard Webhooks, for the ASCII address', async (t) => {
  const fake = await startFakeHttp(t, always(204))
  const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
  const { app } = await buildApp(t, 'memory', { identifierKinds: ['email'], send: webhookSender({ url: fake.url, secret, appName: 'Acme' }) })
  t.equal((await app.inject({ method: 'POST', url: '/login', payload: { email: 'Ana@Bücher.de' } })).statusCode, 200)
  t.equal(fake.requests.length, 1)
  const request = fake.requests[0]!
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]))
  const payload = new Webhook(secret).verify(request.body, headers) as { to: string, code: string }
  t.equal(payload.to, 'ana@xn--bcher-kva.de')
  const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { email: 'ana@bücher.de', otp: payload.code } })
  t.equal(res.statusCode, 200, 'the code the receiver got logs the user in')
})
