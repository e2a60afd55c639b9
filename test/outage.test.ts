import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { CODE_SECRET, JWT_SECRET } from './helpers/app.js'
import { RedisServer } from './helpers/redis.js'

const phone = '+919876543210'

t.test('Redis down: 503 OTP_STORE_UNAVAILABLE, nothing sent, never a token; back up: works again', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  const redis = await server.client()
  const codes: string[] = []
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    redis,
    codeSecret: CODE_SECRET,
    resendInterval: 0,
    send: ({ code }) => { codes.push(code) }
  })
  const post = async (url: string, payload: Record<string, string>) => await app.inject({ method: 'POST', url, payload })

  app.get('/me', { onRequest: [app.authenticate] }, async (request) => request.user)
  t.equal((await post('/login', { phone: '+919876543219' })).statusCode, 200)
  const tokens = (await post('/verify-otp', { phone: '+919876543219', otp: codes[0] ?? '' })).json()
  t.equal((await post('/login', { phone })).statusCode, 200)
  const code = codes[1] ?? ''

  await server.kill()
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${tokens.access}` } })
  t.equal(me.statusCode, 503, 'authenticate fails closed: it cannot check the session')
  t.equal(me.json().code, 'OTP_STORE_UNAVAILABLE')
  const refreshed = await post('/refresh', { refresh: tokens.refresh })
  t.equal(refreshed.statusCode, 503)
  t.equal(refreshed.json().code, 'OTP_STORE_UNAVAILABLE')
  t.notOk('access' in refreshed.json())
  for (const [url, payload] of [['/login', { phone }], ['/verify-otp', { phone, otp: code }]] as const) {
    const res = await post(url, payload)
    t.equal(res.statusCode, 503, url)
    t.same(res.json(), {
      statusCode: 503,
      code: 'OTP_STORE_UNAVAILABLE',
      error: 'Service Unavailable',
      message: 'Login is unavailable right now; try again shortly'
    }, `${url}: no driver message`)
  }
  t.equal(codes.length, 2, 'nothing was sent while the store was down')
  t.match(lines.join(''), /OTP_STORE_UNAVAILABLE/, 'the outage is logged')

  t.ok(await server.spawn(), 'redis-server restarted on the same port (empty)')
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await sleep(50)
  t.equal(redis.status, 'ready', 'the client reconnected')
  t.equal((await post('/verify-otp', { phone, otp: code })).statusCode, 401, 'the old code died with the data')
  t.equal((await post('/login', { phone })).statusCode, 200)
  t.equal((await post('/verify-otp', { phone, otp: codes[2] ?? '' })).statusCode, 200, 'and login works again')
})

t.test('the route rate limiter on Redis fails closed too', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    redis: await server.client(),
    codeSecret: CODE_SECRET,
    rateLimit: { login: { max: 100, timeWindow: 60_000 } },
    send: () => {}
  })
  await app.ready()
  await server.kill()
  const res = await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'OTP_STORE_UNAVAILABLE')
})
