import swagger from '@fastify/swagger'
import Ajv from 'ajv'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import otpLogin, { securitySchemeName, securitySchemes, type OtpLoginOptions } from '../lib/index.js'
import { JWT_SECRET } from './helpers/app.js'

interface Operation {
  responses: Record<string, {
    description?: string
    headers?: Record<string, { schema?: Record<string, unknown>, description?: string }>
    content?: Record<string, { schema: Record<string, unknown> }>
  }>
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }
  security?: unknown[]
  summary?: string
  operationId?: string
  parameters?: unknown[]
}
interface Document {
  paths: Record<string, Record<string, Operation>>
  components?: { securitySchemes?: Record<string, unknown> }
  securityDefinitions?: Record<string, unknown>
}

const bearer = [{ [securitySchemeName]: [] }]
const authenticated = [
  'post /logout', 'get /sessions', 'delete /sessions/{id}', 'post /totp/setup', 'post /totp/confirm', 'post /totp/recovery-codes', 'delete /totp',
  'post /identifiers', 'post /identifiers/verify'
]
const everything: Partial<OtpLoginOptions> = {
  identifierKinds: ['phone', 'email'], jwt: { secret: JWT_SECRET }, send: () => {}, totpEncryptionKey: '00'.repeat(32), linkIdentifier: () => {}
}

/** An app with @fastify/swagger (OpenAPI 3 unless `swaggerOptions` say otherwise) and the plugin; its document. */
async function documentOf (
  t: { teardown: (fn: () => unknown) => void },
  options: Partial<OtpLoginOptions> = everything,
  swaggerOptions: object = { openapi: { info: { title: 't', version: '1' } } }
): Promise<{ app: FastifyInstance, doc: Document }> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, swaggerOptions)
  await app.register(otpLogin, options as OtpLoginOptions)
  await app.ready()
  return { app, doc: app.swagger() as unknown as Document }
}

const operations = (doc: Document): Array<[string, Operation]> =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]): [string, Operation] => [`${method} ${path}`, op]))

/** Every `required` keyword in `value`, with where it is. */
function requiredKeywords (value: unknown, at = '#'): Array<[string, unknown]> {
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(key === 'required' ? [[`${at}/required`, inner] as [string, unknown]] : []),
    ...requiredKeywords(inner, `${at}/${key}`)
  ])
}

t.test('@fastify/swagger documents every route, body and response, errors included', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } })
  await app.register(otpLogin, { prefix: '/auth', identifierKinds: ['phone', 'email'], jwt: { secret: JWT_SECRET }, send: () => {} })
  await app.ready()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Operation & { parameters?: unknown[] }>> }

  const expected: Array<[string, string, string[]]> = [
    ['/auth/login', 'post', ['200', '400', '403', '413', '415', '429', '502', '503']],
    ['/auth/verify-otp', 'post', ['200', '400', '401', '403', '413', '415', '429', '503']],
    ['/auth/refresh', 'post', ['200', '400', '401', '413', '415', '429', '503']],
    ['/auth/logout', 'post', ['204', '400', '401', '403', '413', '415', '429', '503']],
    ['/auth/sessions', 'get', ['200', '401', '429', '503']],
    ['/auth/sessions/{id}', 'delete', ['204', '400', '401', '404', '413', '415', '429', '503']]
  ]
  t.same(Object.keys(doc.paths).sort(), expected.map(([path]) => path).sort())
  for (const [path, method, statuses] of expected) {
    const operation = doc.paths[path]?.[method]
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
  t.same(doc.paths['/auth/logout']?.post?.security, bearer)
  t.notOk(doc.paths['/auth/logout']?.post?.parameters, 'no Authorization header parameter')
})

t.test('the document declares bearer security, Retry-After, operationIds, and no empty required', async (t) => {
  const { doc } = await documentOf(t)
  const ops = operations(doc)
  t.same(ops.map(([name]) => name).sort(), [
    'delete /sessions/{id}', 'delete /totp', 'get /sessions', 'post /identifiers', 'post /identifiers/verify', 'post /login', 'post /logout',
    'post /refresh', 'post /totp/confirm', 'post /totp/recovery-codes', 'post /totp/setup', 'post /verify-otp', 'post /verify-recovery', 'post /verify-totp'
  ])
  for (const [name, op] of ops) {
    if (authenticated.includes(name)) {
      t.same(op.security, bearer, `${name} requires the bearer token`)
      t.ok(op.responses['401'], `${name} documents its 401`)
      t.notOk((op.parameters as Array<{ in: string }> | undefined)?.some((parameter) => parameter.in === 'header'), `${name} has no Authorization header parameter`)
    } else {
      t.same(op.security, [], `${name} is open to anyone, whatever security the document sets`)
    }
    const tooMany = op.responses['429']
    if (tooMany) t.match(tooMany.headers?.['Retry-After'], { schema: { type: 'integer' } }, `${name} 429 declares Retry-After`)
    t.match(op.operationId, /^[a-z][A-Za-z0-9]*$/, `${name} has an operationId`)
  }
  t.equal(ops.filter(([, op]) => op.responses['429']).length, ops.length, 'every route has a 429 to check')
  const ids = ops.map(([, op]) => op.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  t.same(ids.sort(), [
    'addIdentifier', 'endSession', 'listSessions', 'login', 'logout', 'refresh', 'totpConfirm', 'totpDisable', 'totpRecoveryCodes', 'totpSetup',
    'verifyIdentifier', 'verifyOtp', 'verifyRecovery', 'verifyTotp'
  ])
  const empty = requiredKeywords(doc).filter(([, value]) => Array.isArray(value) && value.length === 0)
  t.same(empty, [], 'no `required: []` (invalid in OpenAPI 3.0)')
})

t.test('a host that defines no security scheme still gets a document, with the plugin\'s scheme in it', async (t) => {
  // @fastify/swagger cannot build a document whose routes name an undefined scheme: /docs/json would be a 500.
  const { doc } = await documentOf(t)
  t.same(doc.components?.securitySchemes, securitySchemes)
  t.same(securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } })
})

t.test('a host\'s own scheme of that name, and its other schemes, are kept as they are', async (t) => {
  const own = { type: 'http', scheme: 'bearer', description: 'the host\'s words' }
  const apiKey = { type: 'apiKey', in: 'header', name: 'x-api-key' }
  const hostSchemes = { [securitySchemeName]: own, apiKey }
  const { doc } = await documentOf(t, everything, {
    openapi: { info: { title: 't', version: '1' }, components: { securitySchemes: hostSchemes } }
  })
  t.same(doc.components?.securitySchemes, { [securitySchemeName]: own, apiKey })

  const { doc: added } = await documentOf(t, everything, {
    openapi: { info: { title: 't', version: '1' }, components: { securitySchemes: { apiKey } } }
  })
  t.same(added.components?.securitySchemes, { apiKey, ...securitySchemes }, 'added beside the host\'s')
  t.same(hostSchemes, { [securitySchemeName]: own, apiKey }, 'the host\'s options are not changed')
})

t.test('Swagger 2.0 documents get the bearer token as an Authorization API key', async (t) => {
  const { doc } = await documentOf(t, everything, { swagger: { info: { title: 't', version: '1' } } })
  t.match(doc.securityDefinitions?.[securitySchemeName], { type: 'apiKey', in: 'header', name: 'Authorization' })
  t.same(doc.paths['/logout']?.post?.security, bearer)
})

t.test('the plugin registered twice, under two prefixes, gives no operationId twice', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } })
  // Each in its own context: app.authenticate is decorated once per context.
  await app.register(async (users) => { await users.register(otpLogin, { ...everything, prefix: '/api/auth' } as OtpLoginOptions) })
  await app.register(async (staff) => { await staff.register(otpLogin, { ...everything, prefix: '/auth' } as OtpLoginOptions) }, { prefix: '/staff' })
  await app.ready()
  const ids = operations(app.swagger() as unknown as Document).map(([, op]) => op.operationId)
  t.equal(ids.length, 28)
  t.equal(new Set(ids).size, 28, 'unique')
  t.ok(ids.includes('apiAuthLogin') && ids.includes('staffAuthLogin'), 'named after the prefix the routes are served under')
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
    ['/totp/setup', 'post', ['200', '400', '401', '403', '409', '413', '415', '429', '503']],
    ['/totp/confirm', 'post', ['200', '400', '401', '403', '409', '413', '415', '429', '503']],
    ['/totp', 'delete', ['204', '400', '401', '403', '413', '415', '429', '503']],
    ['/verify-totp', 'post', ['200', '400', '401', '403', '413', '415', '429', '503']],
    ['/verify-recovery', 'post', ['200', '400', '401', '403', '413', '415', '429', '503']]
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
  const doc = json.json() as Document & { servers?: unknown[] }
  t.ok(doc.paths['/api/auth/login'], 'the plugin routes are documented')
  t.ok(doc.paths['/me'], 'and the protected route')
  t.notOk(doc.paths['/'], 'the page itself is hidden')
  t.ok(doc.servers?.length, 'servers are declared')
  t.same(doc.components?.securitySchemes, securitySchemes, 'the app defines the scheme the routes name')
  const me = doc.paths['/me']?.get
  t.same(me?.security, bearer)
  t.equal(me?.operationId, 'getMe')
  t.ok(me?.responses['401'], '/me documents its 401')
  const ids = operations(doc).map(([, op]) => op.operationId)
  t.notOk(ids.includes(undefined), 'every operation has an operationId')
  t.equal(new Set(ids).size, ids.length, 'unique')
})

/** The document, the app, and the access token of a user signed in by phone (in second-factor mode, without an authenticator). */
async function signedIn (t: Parameters<typeof documentOf>[0], options: Partial<OtpLoginOptions> = everything): Promise<{ app: FastifyInstance, doc: Document, access: string }> {
  const codes: string[] = []
  const { app, doc } = await documentOf(t, { ...options, send: ({ code }) => { codes.push(code) } })
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const verified = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes.at(-1) } })
  return { app, doc, access: (verified.json() as { access: string }).access }
}

const phone = '+919876543210'
const jsonSchema = (op: Operation | undefined, status: string): Record<string, unknown> =>
  op?.responses[status]?.content?.['application/json']?.schema ?? {}

t.test('a sign-in answer is one of two shapes, each with its required fields and no other', async (t) => {
  for (const totpMode of ['second-factor', 'alternative'] as const) {
    const { app, doc, access } = await signedIn(t, { ...everything, totpMode })
    const ajv = new Ajv({ strict: false })
    for (const path of ['/verify-otp', '/verify-totp', '/verify-recovery']) {
      const schema = jsonSchema(doc.paths[path]?.post, '200') as { oneOf?: Array<{ required?: string[], additionalProperties?: unknown, properties?: object }> }
      t.same(schema.oneOf?.map((shape) => shape.required), [['access', 'tokenType', 'expiresIn'], ['mfaRequired', 'mfaToken', 'mfaExpiresIn']], `${totpMode}: ${path}`)
      t.same(schema.oneOf?.map((shape) => shape.additionalProperties), [false, false], `${totpMode}: ${path}: so a body matches one only`)
      t.same(Object.keys(schema.oneOf?.[0]?.properties ?? {}), ['access', 'tokenType', 'expiresIn', 'refresh', 'refreshExpiresIn', 'deviceToken'])
      const valid = ajv.compile(schema)
      t.ok(valid({ access: 'a', tokenType: 'Bearer', expiresIn: 900 }), 'tokens without a session')
      t.ok(valid({ mfaRequired: true, mfaToken: 'm', mfaExpiresIn: 300 }), 'the second-factor answer')
      t.notOk(valid({ access: 'a', tokenType: 'Bearer', expiresIn: 900, mfaToken: 'm' }), 'never both')
      t.notOk(valid({ refresh: 'r' }), 'never neither')
    }
    t.ok(access, 'the plugin\'s own answer serialises')
    const body = (await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: 'x'.repeat(10) } })).json() as object
    t.ok(ajv.compile(jsonSchema(doc.paths['/refresh']?.post, '401'))(body), 'and so does its error')
  }
})

t.test('listed sessions require their fields', async (t) => {
  const { app, doc, access } = await signedIn(t)
  const list = jsonSchema(doc.paths['/sessions']?.get, '200') as { required?: string[], properties: { sessions: { items: { required?: string[] } } } }
  t.same(list.required, ['sessions'])
  t.same(list.properties.sessions.items.required, ['id', 'createdAt', 'lastUsedAt', 'expiresAt', 'amr', 'current'])
  const res = await app.inject({ url: '/sessions', headers: { authorization: `Bearer ${access}` } })
  t.same(Object.keys((res.json() as { sessions: object[] }).sessions[0] ?? {}).sort(), ['amr', 'createdAt', 'current', 'expiresAt', 'id', 'lastUsedAt'])
})

t.test('every error body requires its code; a host\'s own error without one answers with code null', async (t) => {
  const { doc } = await documentOf(t, { ...everything, cookie: {} })
  for (const [name, op] of operations(doc)) {
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue
      const schema = response.content?.['application/json']?.schema as { required?: string[], properties?: Record<string, unknown> }
      t.same(schema.required, ['statusCode', 'code', 'error', 'message'], `${name} ${status}`)
    }
  }
  const codes: string[] = []
  const { app } = await documentOf(t, {
    ...everything,
    send: ({ code }) => { codes.push(code) },
    findOrCreateUser: () => { throw Object.assign(new Error('this account is suspended'), { statusCode: 403 }) }
  })
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes.at(-1) } })
  t.equal(res.statusCode, 403, 'not a 500 for want of a code')
  t.same(res.json(), { statusCode: 403, code: null, error: 'Forbidden', message: 'this account is suspended' })
})

t.test('/logout and cookie-mode /refresh take an optional body; every other body is required', async (t) => {
  for (const cookie of [undefined, {}]) {
    const { doc, app, access } = await signedIn(t, { ...everything, ...(cookie === undefined ? {} : { cookie }) })
    const optional = cookie === undefined ? ['post /logout'] : ['post /logout', 'post /refresh']
    for (const [name, op] of operations(doc)) {
      if (op.requestBody === undefined) continue
      t.equal((op.requestBody as { required?: boolean }).required, !optional.includes(name), `${cookie === undefined ? '' : 'cookie mode: '}${name}`)
    }
    const logout = await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${access}` } })
    t.equal(logout.statusCode, 204, 'no body is taken as {}')
  }
})

t.test('every operation that parses a body documents the 400, 413 and 415 it answers to a bad one', async (t) => {
  const { app, doc, access } = await signedIn(t)
  const sessionId = 'A'.repeat(22)
  let parsing = 0
  for (const [name, op] of operations(doc)) {
    const [method = '', path = ''] = name.split(' ')
    if (method === 'get') continue // Fastify parses no body of a GET
    const request = { method: method.toUpperCase() as 'POST' | 'DELETE', url: path.replace('{id}', sessionId), headers: { authorization: `Bearer ${access}` } }
    const tooLarge = await app.inject({ ...request, payload: { phone, padding: 'x'.repeat(8192) } })
    const form = await app.inject({ ...request, payload: 'phone=1', headers: { ...request.headers, 'content-type': 'application/x-www-form-urlencoded' } })
    const broken = await app.inject({ ...request, payload: '{"phone":', headers: { ...request.headers, 'content-type': 'application/json' } })
    t.equal(tooLarge.statusCode, 413, `${name}: a body over its limit`)
    t.equal(form.statusCode, 415, `${name}: a body not JSON`)
    t.equal(broken.statusCode, 400, `${name}: a body that does not parse`)
    t.ok(op.responses['400'] && op.responses['413'] && op.responses['415'], `${name} documents them`)
    parsing++
  }
  t.equal(parsing, 13, 'every operation but GET /sessions')
})
