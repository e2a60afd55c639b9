// Builds dist/: one CommonJS implementation (dist/cjs) plus a thin ESM facade (dist/esm) that re-exports it,
// so ESM and CommonJS users share one copy of the plugin, its stores and its error classes.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
rmSync(dist, { recursive: true, force: true })

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
cpSync(join(root, 'lib/store/scripts'), join(dist, 'cjs/store/scripts'), { recursive: true })
writeFileSync(join(dist, 'cjs/package.json'), '{ "type": "commonjs" }\n')

const cjs = createRequire(import.meta.url)(join(dist, 'cjs/index.js'))
const names = Object.keys(cjs).filter((name) => name !== 'default' && name !== '__esModule').sort()
mkdirSync(join(dist, 'esm'), { recursive: true })
writeFileSync(join(dist, 'esm/package.json'), '{ "type": "module" }\n')
writeFileSync(join(dist, 'esm/index.js'), [
  "import cjs from '../cjs/index.js'",
  'export default cjs.default',
  `export const { ${names.join(', ')} } = cjs`,
  ''
].join('\n'))
// ESM importing a CommonJS file's `default` would get its whole module.exports: name the plugin instead.
writeFileSync(join(dist, 'esm/index.d.ts'), [
  "export * from '../cjs/index.js'",
  "export { fastifyOtpLogin as default } from '../cjs/index.js'",
  ''
].join('\n'))
console.log(`built dist/cjs and dist/esm (${names.length} named exports)`)
