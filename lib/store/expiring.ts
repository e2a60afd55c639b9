import { timingSafeEqual } from 'node:crypto'

/** An entry of an in-process store, alive until `until` (milliseconds, on the store's clock). */
export interface Expiring { until: number }
export interface Counter extends Expiring { count: number }

export const live = <T extends Expiring>(entry: T | undefined, now: number): T | undefined =>
  entry !== undefined && entry.until > now ? entry : undefined

export function equalHashes (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
