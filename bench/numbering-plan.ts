// The full differential test of the plugin's numbering-plan check (lib/fast-paths/numbering-plan.ts, from the build)
// against libphonenumber-js's own `isValid()`: a million generated numbers across every region of the metadata,
// zero disagreements allowed. test/numbering-plan.test.ts runs a sample of the same generator in `npm test`.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { compareWithLibrary, regions } from '../test/helpers/phone-numbers.js'
import { packageRoot } from './package.js'

const internal = createRequire(join(packageRoot, 'dist', 'cjs', 'index.js'))
const plan = internal('./fast-paths/numbering-plan.js') as typeof import('../lib/fast-paths/numbering-plan.js')

export interface PlanDiffResult {
  generated: number
  /** Numbers the library could read at all (the others have nothing to check). */
  read: number
  valid: number
  regions: number
  seed: number
  /** The first few, as `input (region): library says …`. */
  disagreements: string[]
  disagreementCount: number
  seconds: number
}

export function numberingPlanDiff (count: number, seed: number): PlanDiffResult {
  const started = process.hrtime.bigint()
  const { read, regions, disagreementCount, disagreements } = compareWithLibrary(plan.isValidNumber, count, seed, 5)
  const valid = [...regions.values()].reduce((sum, seen) => sum + seen.valid, 0)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { generated: count, read, valid, regions: regions.size, seed, disagreements, disagreementCount, seconds }
}

/** How many regions the metadata has: the run must have seen every one. */
export const regionCount = (): number => regions().length
