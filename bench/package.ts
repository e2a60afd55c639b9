import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

// The bench loads the package by its name, so it measures the built JavaScript that users install (`npm run
// bench` builds it first); the types come from the source it is built from.
const requirePackage = createRequire(__filename)
export const otp: typeof import('../lib/index.js') = requirePackage('fastify-otp-login')
/** The repository root, wherever the compiled bench runs from. */
export const packageRoot = dirname(requirePackage.resolve('fastify-otp-login/package.json'))
/** This build's dist/. */
export const ownDist = join(packageRoot, 'dist')

/**
 * The dist/ of another build to compare with (`--compare`): `path` is that dist/ or a checkout holding one. It is
 * driven through its public API only, with this bench's servers, so both builds take the very same requests.
 */
export function compareDist (path: string): string {
  for (const dist of [resolve(path), resolve(path, 'dist')]) {
    if (existsSync(join(dist, 'cjs', 'index.js'))) return dist
  }
  throw new Error(`--compare: no built package (cjs/index.js) in ${path} or ${join(path, 'dist')}; run npm run build there first`)
}

/** The package built in `dist`; its own dependencies resolve from where it lives. */
export function packageAt (dist: string): typeof otp {
  return dist === ownDist ? otp : createRequire(join(dist, 'cjs', 'index.js'))('./index.js')
}
