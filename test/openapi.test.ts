import swagger from '@fastify/swagger'
import Fastify from 'fastify'
import t from 'tap'
import otpLogin, { securitySchemeName } from '../lib/index.js'
import { JWT_SECRET } from './helpers/app.js'

interface Operation {
  responses: Record<string, { description?: string, content?: Record<string, { schema: Record<string, unknown> }> }>
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }
  security?: unknown[]
  summary?: string
}

t.test('@fastify/swagger documents every route, body and response, errors included', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } })
  await app.register(otpLogin, { prefix: '/auth', channels: ['phone', 'email'], jwt: { secret: JWT_SECRET }, send: () => {} })
  await app.ready()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Operation & { parameters?: unknown[] }>> }

  const expected: Record<string, string[]> = {
    '/auth/login': ['200', '400', '413', '415', '429', '502', '503'],
    '/auth/verify-otp': ['200', '400', '401', '413', '415', '429', '503'],
    '/auth/refresh': ['200', '400', '401', '413', '415', '429', '503'],
    '/auth/logout': ['204', '401', '503']
  }
  t.same(Object.keys(doc.paths).sort(), Object.keys(expected).sort())
  for (const [path, statuses] of Object.entries(expected)) {
    const operation = doc.paths[path]?.post
    t.ok(operation?.summary, `${path} has a summary`)
    t.same(Object.keys(operation?.responses ?? {}).sort(), statuses, `${path} documents each status`)
    for (const [status, response] of Object.entries(operation?.responses ?? {})) {
      t.ok(response.description, `${path} ${status} is described`)
      if (Number(status) >= 400) {
        const schema = response.content?.['application/json']?.schema as { required?: string[] }
        t.same(schema.required, ['statusCode', 'code', 'error', 'message'], `${path} ${status} has the error body`)
      }
    }
  }
  const login = doc.paths['/auth/login']?.post?.requestBody?.content['application/json']?.schema as Record<string, unknown>
  t.match(login, { type: 'object', additionalProperties: false, properties: { phone: { maxLength: 32 }, email: { maxLength: 254 } } })
  t.same(login.oneOf, [{ required: ['phone'] }, { required: ['email'] }])
  const verify = doc.paths['/auth/verify-otp']?.post?.requestBody?.content['application/json']?.schema as Record<string, unknown>
  t.match(verify, { required: ['otp'], properties: { otp: { pattern: '^[0-9]{6}$' } } })
  // The bearer token as `security`, which Swagger UI sends, not as a header parameter, which OpenAPI 3 ignores.
  t.same(doc.paths['/auth/logout']?.post?.security, [{ [securitySchemeName]: [] }])
  t.notOk(doc.paths['/auth/logout']?.post?.parameters, 'no Authorization header parameter')
})

t.test('the authenticator routes are documented too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } })
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET }, send: () => {}, totpEncryptionKey: '00'.repeat(32)
  })
  await app.ready()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> }
  const expected: Array<[string, string, string[]]> = [
    ['/totp/setup', 'post', ['200', '401', '403', '409', '429', '503']],
    ['/totp/confirm', 'post', ['200', '400', '401', '403', '409', '413', '415', '429', '503']],
    ['/totp', 'delete', ['204', '401', '403', '429', '503']],
    ['/verify-totp', 'post', ['200', '400', '401', '413', '415', '429', '503']],
    ['/verify-recovery', 'post', ['200', '400', '401', '413', '415', '429', '503']]
  ]
  for (const [path, method, statuses] of expected) {
    const operation = doc.paths[path]?.[method]
    t.ok(operation?.summary, `${path} has a summary`)
    t.same(Object.keys(operation?.responses ?? {}).sort(), statuses, `${path} documents each status`)
    for (const [status, response] of Object.entries(operation?.responses ?? {})) t.ok(response.description, `${path} ${status} is described`)
  }
})

t.test('the example app serves the docs at /docs', async (t) => {
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as { buildExampleApp: (o: object) => Promise<ReturnType<typeof Fastify>> }
  const app = await buildExampleApp({ send: () => {}, logger: false })
  t.teardown(() => app.close())
  const ui = await app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
  const json = await app.inject({ url: '/docs/json' })
  t.equal(json.statusCode, 200)
  t.ok(json.json().paths['/api/auth/login'], 'the plugin routes are documented')
  t.ok(json.json().paths['/me'], 'and the protected route')
  t.notOk(json.json().paths['/'], 'the page itself is hidden')
})
