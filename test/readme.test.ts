import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { optionsSchema } from '../lib/options-schema.js'

const root = join(__dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

// Runs the generator in check mode on `file`; true when the table there is exactly what it writes.
function tableIsGenerated (file: string): boolean {
  try {
    execFileSync(process.execPath, [join(root, 'scripts/options-table.mjs'), '--check', file], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

// The README's options table is the user's reference: written from the schema in dist/ (built by `npm test`).
t.test("the README's options table is what scripts/options-table.mjs writes", async (t) => {
  t.ok(tableIsGenerated(join(root, 'README.md')), 'README.md: run `npm run build && node scripts/options-table.mjs` after changing the schema')
  const dir = mkdtempSync(join(tmpdir(), 'otp-readme-'))
  t.teardown(() => { rmSync(dir, { recursive: true }) })
  const edited = join(dir, 'README.md')
  writeFileSync(edited, readme.replace('| `codeLength` | `6` |', '| `codeLength` | `8` |'))
  t.notOk(tableIsGenerated(edited), 'a changed default is caught')
  writeFileSync(edited, readme.replace('<!-- options-table:end -->', ''))
  t.notOk(tableIsGenerated(edited), 'a README without the markers is refused')
})

t.test('the table lists exactly the options of the schema, each once', async (t) => {
  const section = readme.split(/^## /m).find((part) => part.startsWith('Options\n'))
  t.ok(section, 'README has an "## Options" section')
  const documented = [...(section ?? '').matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1])
  t.same(documented, Object.keys(optionsSchema.properties))
})

t.test('the README names no option outside the generated table', async (t) => {
  const start = readme.indexOf('<!-- options-table:start -->')
  const end = readme.indexOf('<!-- options-table:end -->')
  t.ok(start >= 0 && start < end, 'one table between the markers')
  const outside = readme.slice(0, start) + readme.slice(end)
  t.notMatch(outside, /^\| `[A-Za-z]+` \|/m, 'no options-table row outside the markers')
})
