import Fastify from 'fastify'
import t from 'tap'
import { JWT_SECRET } from './helpers/app.js'

t.test('tokens are signed by the signer made at registration, not one made per token', async (t) => {
  const fastJwt = await import('fast-jwt')
  let signersMade = 0
  const { fastifyOtpLogin } = t.mockRequire('../lib/index.js', {
    'fast-jwt': { ...fastJwt, createSigner: (...args: Parameters<typeof fastJwt.createSigner>) => { signersMade++; return fastJwt.createSigner(...args) } }
  }) as typeof import('../lib/index.js')
  const codes: string[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyOtpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, resendInterval: 0, send: ({ code }) => { codes.push(code) } })
  await app.ready()
  const made = signersMade
  for (const phone of ['+919876543210', '+919876543211', '+919876543212']) {
    await app.inject({ method: 'POST', url: '/login', payload: { phone } })
    const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes.at(-1) } })
    t.equal(res.statusCode, 200)
  }
  t.ok(made >= 1, 'a signer was made at registration')
  t.equal(signersMade, made, 'no signer made per token')
})
