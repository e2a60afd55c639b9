import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The repository's root. */
export const root = join(__dirname, '..', '..')

/** The user's documentation: README.md and every docs/*.md, as paths relative to the root. */
export function docFiles (): string[] {
  const pages = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).sort()
  return ['README.md', ...pages.map((name) => `docs/${name}`)]
}

export interface CodeBlock {
  /** The Markdown file, relative to the root. */
  file: string
  /** The line of the block's first code line (1-based), for messages that point into the file. */
  line: number
  /** The fence's language tag, `''` when there is none. */
  lang: string
  code: string
  /** The reason given by `<!-- not-checked: reason -->` on the line before the fence. */
  notChecked?: string
}

const fence = /^(\s*)```(\S*)\s*$/
const notCheckedMarker = /^<!--\s*not-checked:(.*)-->\s*$/

/** Every fenced code block of a Markdown text. */
export function codeBlocks (file: string, text: string): CodeBlock[] {
  const lines = text.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i] ?? '')
    if (!open) continue
    const indent = open[1] ?? ''
    const start = i + 1
    let end = start
    while (end < lines.length && (lines[end] ?? '').trim() !== '```') end++
    if (end === lines.length) throw new Error(`${file}:${i + 1}: a code fence that is never closed`)
    const marker = notCheckedMarker.exec((lines[i - 1] ?? '').trim())
    blocks.push({
      file,
      line: start + 1,
      lang: open[2] ?? '',
      code: lines.slice(start, end).map((line) => line.startsWith(indent) ? line.slice(indent.length) : line).join('\n') + '\n',
      ...(marker ? { notChecked: (marker[1] ?? '').trim() } : {})
    })
    i = end
  }
  return blocks
}

/** The lines of a Markdown text that are not inside a code fence, with their 1-based numbers. */
export function proseLines (text: string): Array<{ line: number, text: string }> {
  const out: Array<{ line: number, text: string }> = []
  let inFence = false
  text.split('\n').forEach((line, i) => {
    if (fence.test(line)) {
      inFence = !inFence
      return
    }
    if (!inFence) out.push({ line: i + 1, text: line })
  })
  return out
}

/** The anchors GitHub gives a Markdown text's headings: lower case, punctuation dropped, spaces to dashes. */
export function headingAnchors (text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const { text: line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const slug = (heading[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

export function readDoc (file: string): string {
  return readFileSync(join(root, file), 'utf8')
}
