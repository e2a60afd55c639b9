import t from 'tap'
import { buildApp, sharedRedis } from './helpers/app.js'

t.test('the route rate limiter fails closed: with Redis down, requests that never reach the OTP store get 503', async (t) => {
  const { app } = await buildApp(t, 'redis', { rateLimit: {} })
  await (await sharedRedis()).kill() // this file's own redis-server
  const requests = {
    'POST /login with an invalid number': { method: 'POST', url: '/login', payload: { phone: '12' } },
    'POST /verify-otp with an invalid number': { method: 'POST', url: '/verify-otp', payload: { phone: '12', otp: '123456' } },
    'POST /refresh with a malformed token': { method: 'POST', url: '/refresh', payload: { refresh: 'nope' } }
  } as const
  for (const [name, request] of Object.entries(requests)) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 503, `${name}: 503, not the 400 or 401 the route would give`)
    t.equal(res.json().code, 'OTP_STORE_UNAVAILABLE', name)
  }
})
