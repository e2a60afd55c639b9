import t from 'tap'
import { randomId } from '../lib/fast-paths/random-pool.js'

t.test('randomId: base64url of the asked length, never the same bytes twice across pool refills', async (t) => {
  t.match(randomId(16), /^[A-Za-z0-9_-]{22}$/)
  t.match(randomId(32), /^[A-Za-z0-9_-]{43}$/)
  // 3,000 ids of 16 bytes are 48 KB: the 4 KiB pool is refilled a dozen times along the way.
  const ids = Array.from({ length: 3000 }, (_, i) => randomId(i % 2 === 0 ? 16 : 32))
  t.equal(new Set(ids).size, ids.length, 'all distinct')
  // A read that overlapped the one before would repeat its bytes: no 8-byte run appears in two ids.
  const runs = new Map<string, number>()
  let shared = 'none'
  ids.forEach((id, n) => {
    const hex = Buffer.from(id, 'base64url').toString('hex')
    for (let at = 0; at + 16 <= hex.length; at += 2) {
      const seen = runs.get(hex.slice(at, at + 16))
      if (seen !== undefined && seen !== n && shared === 'none') shared = `ids ${seen} and ${n}`
      runs.set(hex.slice(at, at + 16), n)
    }
  })
  t.equal(shared, 'none', 'no two ids share a run of 8 bytes')
  t.throws(() => randomId(5000), RangeError)
})
