import t from 'tap'
import { buildApp, freshRedis, CODE_SECRET } from './helpers/app.js'

const phone = '+919876543210'
const limits = { login: { max: 2, timeWindow: '1 minute' }, verify: { max: 3, timeWindow: '1 minute' } }

for (const kind of ['memory', 'redis'] as const) {
  t.test(`${kind}: per-IP limits on the plugin's routes`, async (t) => {
    const { app, login, verify } = await buildApp(t, kind, { rateLimit: limits, resendInterval: 0 })

    t.equal((await login(phone, '10.0.0.1')).statusCode, 200)
    t.equal((await login('+919876543211', '10.0.0.1')).statusCode, 200)
    const limited = await login('+919876543212', '10.0.0.1')
    t.equal(limited.statusCode, 429)
    t.equal(limited.json().code, 'OTP_RATE_LIMITED')
    const retryAfter = Number(limited.headers['retry-after'])
    t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`)
    t.equal(limited.json().retryAfter, retryAfter)
    t.equal((await login('+919876543212', '10.0.0.2')).statusCode, 200, 'another IP has its own budget')

    for (let i = 0; i < 3; i++) t.equal((await verify(phone, '000000', '10.0.0.1')).statusCode, 401)
    t.equal((await verify(phone, '000000', '10.0.0.1')).json().code, 'OTP_RATE_LIMITED', 'verify has its own limit')

    for (let i = 0; i < 10; i++) t.equal((await app.inject({ url: '/health', remoteAddress: '10.0.0.1' })).statusCode, 200)
    t.pass("the host's own routes are not limited")
  })
}

t.test('defaults: 10 logins and 30 verifies per minute per IP', async (t) => {
  const { login, verify } = await buildApp(t, 'memory', { rateLimit: {}, maxSends: 100, resendInterval: 0 })
  for (let i = 0; i < 10; i++) t.equal((await login('+1 650-253-0000')).statusCode, 200)
  t.equal((await login('+1 650-253-0000')).statusCode, 429)
  // One after another: @fastify/rate-limit's in-process store hands every request in a burst the same
  // mutable counter, so in parallel all of them would see the final count.
  for (let i = 0; i < 30; i++) t.equal((await verify('+16502530001', '000000')).statusCode, 401)
  t.equal((await verify('+16502530001', '000000')).json().code, 'OTP_RATE_LIMITED')
})

t.test('rateLimit: false turns them off', async (t) => {
  const { app } = await buildApp(t, 'memory', { rateLimit: false })
  for (let i = 0; i < 30; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/login', payload: { phone: 'bad' } })).statusCode, 400)
  }
})

t.test('with redis, app instances share the counters', async (t) => {
  const one = await buildApp(t, 'redis', { rateLimit: limits, resendInterval: 0 })
  const redis = await freshRedis()
  const two = await buildApp(t, 'memory', { rateLimit: limits, resendInterval: 0, redis, codeSecret: CODE_SECRET })
  t.equal((await one.login(phone, '10.1.1.1')).statusCode, 200)
  t.equal((await two.login('+919876543211', '10.1.1.1')).statusCode, 200)
  t.equal((await one.login('+919876543212', '10.1.1.1')).json().code, 'OTP_RATE_LIMITED')
  t.equal((await two.login('+919876543212', '10.1.1.1')).json().code, 'OTP_RATE_LIMITED')
  const keys = await redis.keys('otp:rl:*')
  t.ok(keys.length > 0, 'counters live in Redis under the key prefix')
  for (const key of keys) t.ok(await redis.pttl(key) > 0, `${key} expires`)
})

for (const kind of ['memory', 'redis'] as const) {
  t.test(`${kind}: the authenticated routes are limited per IP too (rateLimit.account)`, async (t) => {
    const { app, login, verify, codeFor } = await buildApp(t, kind, {
      rateLimit: { account: { max: 3, timeWindow: '1 minute' } }, totpEncryptionKey: '00'.repeat(32)
    })
    await login(phone)
    const { access } = (await verify(phone, codeFor(phone))).json()
    const headers = { authorization: `Bearer ${access}` }
    for (const [method, url] of [['GET', '/sessions'], ['DELETE', `/sessions/${'A'.repeat(22)}`], ['POST', '/totp/setup'], ['DELETE', '/totp'], ['POST', '/logout']] as const) {
      for (let i = 0; i < 3; i++) t.not((await app.inject({ method, url, headers: { authorization: 'Bearer forged' }, remoteAddress: '10.0.0.7' })).statusCode, 429, `${method} ${url} within the limit`)
      const limited = await app.inject({ method, url, headers, remoteAddress: '10.0.0.7' })
      t.equal(limited.json().code, 'OTP_RATE_LIMITED', `${method} ${url}: the fourth from one IP, forged tokens counted`)
      t.ok(Number(limited.headers['retry-after']) > 0)
    }
    t.equal((await app.inject({ url: '/sessions', headers, remoteAddress: '10.0.0.8' })).statusCode, 200, 'another IP')
  })
}

t.test('rateLimit.account defaults to 30 a minute per IP', async (t) => {
  const { app } = await buildApp(t, 'memory', { rateLimit: {} })
  const codes: number[] = []
  for (let i = 0; i < 31; i++) codes.push((await app.inject({ url: '/sessions', headers: { authorization: 'Bearer x' }, remoteAddress: '10.0.0.9' })).statusCode)
  t.same(codes.slice(0, 30).filter((code) => code === 429), [])
  t.equal(codes[30], 429)
})
