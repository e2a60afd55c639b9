// The package as an ESM TypeScript user imports it by name (resolved to dist/ through package.json exports).
import Fastify from 'fastify'
import otpLogin, { consoleSender, MemoryStore, type OtpUser } from 'fastify-otp-login'

const app = Fastify()
await app.register(otpLogin, {
  jwt: { secret: 'a-secret-of-at-least-thirty-two-chars' },
  store: new MemoryStore(),
  codeSecret: 'a-code-secret-of-at-least-32-chars!!',
  send: consoleSender(),
  findOrCreateUser: async ({ phone, email }) => ({ id: phone ?? email ?? '', role: 'member' })
})
app.get('/me', { onRequest: [app.authenticate] }, async (request) => {
  const user: OtpUser = request.user
  const sub: string = user.sub
  // @ts-expect-error sub is a string
  const wrong: number = user.sub
  return { sub, wrong }
})
