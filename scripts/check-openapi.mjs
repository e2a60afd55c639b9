// `npm run openapi:check` (after `npm run build`): the example app's OpenAPI document, the one /docs/json
// serves, must pass `swagger-cli validate` (the OpenAPI 3 schema) and `redocly lint` with Redocly's
// recommended rules. Exits non-zero on any error of either; Redocly's warnings are printed, not fatal.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const bin = (pkg, name) => join(dirname(require.resolve(`${pkg}/package.json`)), require(`${pkg}/package.json`).bin[name])

const { buildExampleApp } = await import('../example-app/app.mjs')
const app = await buildExampleApp({ send: () => {}, logger: false })
let document
try {
  const response = await app.inject({ url: '/docs/json' })
  if (response.statusCode !== 200) throw new Error(`GET /docs/json answered ${response.statusCode}`)
  document = response.body
} finally {
  await app.close()
}

const dir = mkdtempSync(join(tmpdir(), 'openapi-'))
const file = join(dir, 'openapi.json')
writeFileSync(file, document)

// No telemetry and no update check: CI talks to nothing but the npm registry when it installs.
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
const checks = [
  ['swagger-cli validate', bin('@apidevtools/swagger-cli', 'swagger-cli'), ['validate', file]],
  ['redocly lint --extends=recommended', bin('@redocly/cli', 'redocly'), ['lint', '--extends=recommended', file]]
]
let failed = false
try {
  for (const [label, script, args] of checks) {
    const { status, error } = spawnSync(process.execPath, [script, ...args], { cwd: root, env, stdio: 'inherit' })
    if (error || status !== 0) {
      failed = true
      console.error(`openapi:check: ${label} failed${error ? `: ${error.message}` : ` (exit ${status})`}`)
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (failed) process.exit(1)
console.log('openapi:check: the example app\'s OpenAPI document passes swagger-cli validate and redocly lint --extends=recommended')
