// The package as a CommonJS TypeScript user requires it.
import Fastify = require('fastify')
import otp = require('fastify-otp-login')

const app = Fastify.default()
void app.register(otp.fastifyOtpLogin, { jwt: { secret: 'a-secret-of-at-least-thirty-two-chars' }, send: otp.consoleSender() })
void app.register(otp.default, { jwt: { secret: 'a-secret-of-at-least-thirty-two-chars' }, send: otp.consoleSender() })
