import { createRequire } from 'node:module'
import { dirname } from 'node:path'

// The bench loads the package by its name, so it measures the built JavaScript that users install (`npm run
// bench` builds it first); the types come from the source it is built from.
const requirePackage = createRequire(__filename)
export const otp: typeof import('../lib/index.js') = requirePackage('fastify-otp-login')
/** The repository root, wherever the compiled bench runs from. */
export const packageRoot = dirname(requirePackage.resolve('fastify-otp-login/package.json'))
