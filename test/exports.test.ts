import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

// The package as users get it: dist/ (built by `npm test`'s pretest step), imported by its own name.
const root = join(__dirname, '..')
const run = (args: string[]): unknown => JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }))
const probe = `
  const names = Object.keys(m).sort()
  const plugin = m.default
  console.log(JSON.stringify({
    names,
    defaultIsPlugin: typeof plugin === 'function' && plugin[Symbol.for('fastify.display-name')] === 'fastify-otp-login',
    meta: plugin[Symbol.for('plugin-meta')],
    sameNamed: m.fastifyOtpLogin === plugin
  }))`

t.test('ESM and CommonJS entry points export the same plugin and names', async (t) => {
  t.ok(existsSync(join(root, 'dist/cjs/index.js')), 'dist is built')
  const esm = run(['--input-type=module', '-e', `import * as m from 'fastify-otp-login'; ${probe}`]) as Record<string, unknown>
  const cjs = run(['-e', `const m = require('fastify-otp-login'); ${probe}`]) as Record<string, unknown>
  for (const [name, result] of [['esm', esm], ['cjs', cjs]] as const) {
    t.equal(result.defaultIsPlugin, true, `${name}: default export is the plugin`)
    t.equal(result.sameNamed, true, `${name}: fastifyOtpLogin is the same plugin`)
    t.match(result.meta, { fastify: '5.x', name: 'fastify-otp-login' }, `${name}: fastify-plugin metadata`)
    for (const name of [
      'MemoryStore', 'RedisStore', 'consoleSender', 'twilioSender', 'twoFactorSender', 'smtpSender', 'webhookSender',
      'fastifyOtpLogin', 'InvalidCodeError', 'InvalidEmailError', 'InvalidPhoneError', 'LockedError', 'SendBudgetExceededError',
      'StoreUnavailableError', 'RefreshReusedError', 'RefreshInvalidError', 'TokenRevokedError'
    ]) {
      t.ok((result.names as string[]).includes(name), `${name} exported`)
    }
  }
  t.same((esm.names as string[]).filter((n) => n !== 'default'), (cjs.names as string[]).filter((n) => n !== 'default' && n !== '__esModule'))
  t.ok(existsSync(join(root, 'dist/cjs/index.d.ts')) && existsSync(join(root, 'dist/esm/index.d.ts')), 'type declarations')
  t.ok(existsSync(join(root, 'dist/cjs/store/scripts/verify.lua')), 'Lua scripts are shipped')
})
