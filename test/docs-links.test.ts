import { existsSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import t from 'tap'
import { docFiles, headingAnchors, proseLines, readDoc, root } from './helpers/markdown.js'

// README.md, CHANGELOG.md and docs/*.md link to each other's sections: every relative link must reach a file of
// the repository and, for a Markdown page, a heading that page has.
const files = [...docFiles(), 'CHANGELOG.md']
const anchors = new Map(files.map((file) => [file, headingAnchors(readDoc(file))]))

t.test('every relative link in README.md, CHANGELOG.md and docs/ reaches its file and heading', async (t) => {
  for (const file of files) {
    for (const { line, text } of proseLines(readDoc(file))) {
      // Inline code may show link syntax without being a link.
      const prose = text.replace(/`[^`]*`/g, '')
      for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = match[1] ?? ''
        if (/^[a-z]+:/i.test(href)) continue
        const where = `${file}:${line}: ${href}`
        const [path = '', anchor] = href.split('#')
        const target = path === '' ? file : normalize(relative(root, join(root, dirname(file), path)))
        t.ok(existsSync(join(root, target)), `${where}: ${target} exists`)
        if (anchor !== undefined) {
          const known = anchors.get(target)
          t.ok(known?.has(anchor), `${where}: ${target} has a heading #${anchor}`)
        }
      }
    }
  }
})

t.test('every docs page opens with its title and links back to the README', async (t) => {
  for (const file of files.filter((file) => file.startsWith('docs/'))) {
    const text = readDoc(file)
    t.match(text, /^# \S/, `${file} starts with a title`)
    const intro = text.split('\n\n').slice(1, 3).join('\n\n')
    t.match(intro, /\]\(\.\.\/README\.md(#[^)]*)?\)/, `${file}: the intro links back to the README`)
  }
})
