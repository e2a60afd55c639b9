import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { optionsSchema } from '../lib/options-schema.js'

// The README's options table is the user's reference: every option is in it, and nothing else is.
t.test("the README's options table lists exactly the plugin's options", async (t) => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find((part) => part.startsWith('Options\n'))
  t.ok(section, 'README has an "## Options" section')
  const documented = [...(section ?? '').matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1])
  t.same([...documented].sort(), Object.keys(optionsSchema.properties).sort())
  t.equal(new Set(documented).size, documented.length, 'each option once')
})
