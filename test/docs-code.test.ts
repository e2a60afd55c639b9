import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import ts from 'typescript'
import { codeBlocks, docFiles, readDoc, root, type CodeBlock } from './helpers/markdown.js'

// Every TypeScript and JavaScript block of README.md and docs/*.md is type-checked against the built package, as
// an ES module of its own (top-level await allowed), so a renamed option or a wrong example fails here, not in a
// user's editor. `fastify-otp-login` resolves to dist/ through the package's own `exports`, as it does for users.
// A fragment that cannot compile says why on the line before its fence: `<!-- not-checked: reason -->`.

const typescriptTags = new Set(['ts', 'typescript'])
const javascriptTags = new Set(['js', 'javascript'])
// Blocks that are not programs: shell commands (not run here), JSON (parsed) and plain text (a file tree).
const otherTags = new Set(['sh', 'json', 'text'])

// What the snippets take from the app around them, declared rather than written into every block. Each name is
// the reader's own code: the package's exports are never declared here, so a block must import what it uses.
const prelude = `
declare const app: import('fastify').FastifyInstance
/** The helper of "Use it in your app" (docs/getting-started.md): the environment variable's value, or a throw naming it. */
declare function env (name: string): string
/** The webhook receiver's own Fastify instance. */
declare const receiver: import('fastify').FastifyInstance
/** The rest of the plugin's options, as in "Use it in your app" (docs/getting-started.md). */
declare const options: import('fastify-otp-login').OtpLoginOptions
declare const db: { users: { upsert (fields: { phone?: string, email?: string }): Promise<{ id: string, role: string }> } }
declare const metrics: { increment (name: string): void }
declare const myTotpStore: import('fastify-otp-login').TotpStore
`

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  strict: true,
  allowJs: true,
  checkJs: true,
  noEmit: true,
  skipLibCheck: true
}

/** Type-checks the blocks in one program; answers each block's errors as `file:line: message`. */
function typeCheck (blocks: CodeBlock[]): { errors: Map<CodeBlock, string[]>, other: string[] } {
  // Virtual files inside the repository, so that the package's name resolves to itself through `exports`.
  const virtual = new Map<string, string>()
  const owner = new Map<string, CodeBlock>()
  blocks.forEach((block, i) => {
    const path = join(root, 'docs', `code-block-${i}.${javascriptTags.has(block.lang) ? 'mjs' : 'mts'}`)
    virtual.set(path, block.code)
    owner.set(path, block)
  })
  const preludePath = join(root, 'docs', 'code-block-prelude.d.ts')
  virtual.set(preludePath, prelude)

  const host = ts.createCompilerHost(compilerOptions)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file)
  host.readFile = (file) => virtual.get(file) ?? readFile.call(host, file)
  host.getSourceFile = (file, language, ...rest) => {
    const text = virtual.get(file)
    return text === undefined ? getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, text, language, true)
  }
  const program = ts.createProgram([...virtual.keys()], compilerOptions, host)

  const errors = new Map<CodeBlock, string[]>(blocks.map((block) => [block, []]))
  const other: string[] = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const block = diagnostic.file ? owner.get(diagnostic.file.fileName) : undefined
    if (block && diagnostic.file && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      errors.get(block)?.push(`${block.file}:${block.line + line}: TS${diagnostic.code} ${message}`)
    } else {
      other.push(`${diagnostic.file?.fileName ?? '(program)'}: TS${diagnostic.code} ${message}`)
    }
  }
  return { errors, other }
}

const blocks = docFiles().flatMap((file) => codeBlocks(file, readDoc(file)))

t.test('every code block has a language this test knows, and markers only where they mean something', async (t) => {
  for (const block of blocks) {
    const where = `${block.file}:${block.line}`
    const known = typescriptTags.has(block.lang) || javascriptTags.has(block.lang) || otherTags.has(block.lang)
    t.ok(known, `${where}: the fence's language (${JSON.stringify(block.lang)}) is one of ts, js, sh, json, text`)
    if (block.notChecked !== undefined) {
      t.ok(block.notChecked.length > 0, `${where}: a not-checked marker gives its reason`)
      t.ok(typescriptTags.has(block.lang) || javascriptTags.has(block.lang), `${where}: not-checked marks a ts or js block`)
    }
    if (block.lang === 'sh' || block.lang === 'text') {
      // A program tagged as shell or text would escape the type check.
      const code = block.code.split('\n').filter((line) => /^\s*(import|export|const|let|await)\s/.test(line))
      t.same(code, [], `${where}: a ${block.lang} block holds no TypeScript`)
    }
  }
})

t.test('every JSON block parses', async (t) => {
  for (const block of blocks.filter((block) => block.lang === 'json')) {
    t.doesNotThrow(() => JSON.parse(block.code), `${block.file}:${block.line}`)
  }
})

t.test('every ts and js block type-checks against the built package', async (t) => {
  const dist = join(root, 'dist', 'esm', 'index.d.ts')
  if (!existsSync(dist)) {
    t.fail(`${dist} is missing: run npm run build first (npm test does)`)
    return
  }
  const checked = blocks.filter((block) => (typescriptTags.has(block.lang) || javascriptTags.has(block.lang)) && block.notChecked === undefined)
  // Two blocks that must fail: if the package's types or the prelude resolved to `any`, nothing would be checked.
  const canaries: CodeBlock[] = [
    { file: '(canary: package types)', line: 1, lang: 'ts', code: "import { twilioSender } from 'fastify-otp-login'\ntwilioSender({ accountSid: 1 })\n" },
    { file: '(canary: prelude types)', line: 1, lang: 'ts', code: "import 'fastify-otp-login'\napp.authenticat(undefined)\n" }
  ]
  const { errors, other } = typeCheck([...checked, ...canaries])
  t.same(other, [], 'no errors outside the blocks')
  for (const block of checked) t.same(errors.get(block), [], `${block.file}:${block.line} type-checks`)
  for (const canary of canaries) t.ok((errors.get(canary) ?? []).length > 0, `${canary.file} is refused`)
  const skipped = blocks.filter((block) => block.notChecked !== undefined)
  t.comment(`${checked.length} blocks checked; not checked: ${skipped.map((block) => `${block.file}:${block.line} (${block.notChecked ?? ''})`).join(', ') || 'none'}`)
})
