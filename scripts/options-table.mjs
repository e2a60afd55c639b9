// Writes the README's options table from the options schema in dist/ (run `npm run build` first):
//   node scripts/options-table.mjs            rewrites the table between the markers in README.md
//   node scripts/options-table.mjs --check F  exits 1 when the table in F (default README.md) is not what it would write
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const start = '<!-- options-table:start -->'
const end = '<!-- options-table:end -->'

/** A default as the reader would write it in JavaScript. */
function literal (value) {
  if (typeof value === 'string') return `'${value}'`
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value).map(([key, item]) => `${key}: ${literal(item)}`).join(', ')} }`
  }
  return String(value)
}

const cell = (text) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

export function optionsTable (schema) {
  const rows = Object.entries(schema.properties).map(([name, option]) => {
    const fallback = option.defaultText ?? (option.default === undefined ? 'none' : `\`${literal(option.default)}\``)
    return `| \`${name}\` | ${cell(fallback)} | ${cell(option.description ?? '')} |`
  })
  return ['| option | default | description |', '|---|---|---|', ...rows].join('\n')
}

/** `readme` with its table replaced; throws when the markers are missing. */
export function withTable (readme, table) {
  const from = readme.indexOf(start)
  const to = readme.indexOf(end)
  if (from === -1 || to < from) throw new Error(`the README has no ${start} … ${end} block`)
  return `${readme.slice(0, from + start.length)}\n${table}\n${readme.slice(to)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { optionsSchema } = createRequire(import.meta.url)(join(root, 'dist/cjs/options-schema.js'))
  const check = process.argv[2] === '--check'
  const file = (check ? process.argv[3] : undefined) ?? join(root, 'README.md')
  const readme = readFileSync(file, 'utf8')
  const written = withTable(readme, optionsTable(optionsSchema))
  if (check) {
    if (written !== readme) {
      console.error(`${file}: the options table is not what scripts/options-table.mjs writes from the schema; run \`npm run build && node scripts/options-table.mjs\``)
      process.exit(1)
    }
  } else if (written !== readme) {
    writeFileSync(file, written)
    console.log(`${file}: options table rewritten`)
  }
}
