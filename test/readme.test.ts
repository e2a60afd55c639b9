import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { optionNames } from '../lib/options.js'

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')
const start = '<!-- options-table:start -->'
const end = '<!-- options-table:end -->'

// The README's options table is the user's reference: every option is in it, and nothing else is. It stands
// between two markers, which the table generator fills from the options schema.
t.test("the README's options table lists exactly the plugin's options", async (t) => {
  const section = readme.split(/^## /m).find((part) => part.startsWith('Options\n')) ?? ''
  t.ok(section, 'README has an "## Options" section')
  const lines = section.split('\n')
  t.equal(lines.filter((line) => line === start).length, 1, 'the section has one start marker, on a line of its own')
  t.equal(lines.filter((line) => line === end).length, 1, 'and one end marker')
  const table = section.slice(section.indexOf(start) + start.length, section.indexOf(end))
  t.ok(section.indexOf(start) < section.indexOf(end), 'the start marker comes first')
  t.match(table.trim(), /^\| option \| default \| description \|\n\|---\|---\|---\|\n/, 'the table and its header fill the markers')
  const rows = table.trim().split('\n').slice(2)
  const documented = rows.map((row) => /^\| `([A-Za-z]+)` \| .+ \| .+ \|$/.exec(row)?.[1])
  t.same(documented.filter((name) => name === undefined), [], 'every row is | `name` | default | description |')
  t.same([...documented].sort(), [...optionNames].sort())
  t.equal(new Set(documented).size, documented.length, 'each option once')
})

t.test('the README names no option the table leaves out', async (t) => {
  const outside = readme.replace(readme.slice(readme.indexOf(start), readme.indexOf(end)), '')
  t.notMatch(outside, /^\| `[A-Za-z]+` \|/m, 'no options-table row outside the markers')
})
