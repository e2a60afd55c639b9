import t from 'tap'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { isValidNumber } from '../lib/numbering-plan.js'
import { generateNumbers, regions } from './helpers/phone-numbers.js'

// The fast numbering-plan check must give exactly libphonenumber-js's answers. The suite checks a sample of
// the generated numbers; `npm run bench` checks a million (bench/numbering-plan.ts).
t.test('the numbering-plan check agrees with libphonenumber-js on generated numbers of every region', async (t) => {
  const sample = 60_000
  const seed = Number(process.env.NUMBERING_PLAN_SEED ?? Date.now() % 2 ** 31)
  const regionsSeen = new Map<string, { valid: number, invalid: number }>()
  const disagreements: string[] = []
  let read = 0
  for (const number of generateNumbers(sample, seed)) {
    const phone = parsePhoneNumberFromString(number.input, { defaultCountry: number.defaultCountry, extract: false })
    if (phone === undefined) continue
    read++
    const expected = phone.isValid()
    if (isValidNumber(phone) !== expected) disagreements.push(`${number.input} (${number.region}${number.defaultCountry === undefined ? '' : ', national'}): library says ${String(expected)}`)
    const seen = regionsSeen.get(number.region) ?? { valid: 0, invalid: 0 }
    seen[expected ? 'valid' : 'invalid']++
    regionsSeen.set(number.region, seen)
  }
  t.same(disagreements.slice(0, 20), [], `no disagreements (seed ${seed}; rerun with NUMBERING_PLAN_SEED=${seed})`)
  t.ok(read > sample * 0.9, `the library read most generated numbers (${read} of ${sample})`)
  // The sample covers every region, and lands on both sides of the plans: a check that always said
  // "valid" or always "invalid" would disagree.
  t.equal(regionsSeen.size, regions().length, 'every region of the metadata')
  const valid = [...regionsSeen.values()].reduce((sum, seen) => sum + seen.valid, 0)
  t.ok(valid > read * 0.2 && valid < read * 0.8, `both valid and invalid numbers (${valid} of ${read} valid)`)
  const regionsWithBoth = [...regionsSeen.values()].filter((seen) => seen.valid > 0 && seen.invalid > 0).length
  t.ok(regionsWithBoth > regionsSeen.size * 0.9, `most regions with both (${regionsWithBoth} of ${regionsSeen.size})`)
})

t.test('numbers the library reads without a country: calling-code plans and non-geographic numbers', async (t) => {
  // +1 with an unassigned area code leaves the country unknown; the library then uses the calling code's main plan.
  for (const input of ['+12015550123', '+19995550123', '+80012345678', '+882399999999', '+70000000000', '+447400123456', '+447400', '+919876543210']) {
    const phone = parsePhoneNumberFromString(input, { extract: false })
    if (phone === undefined) continue
    t.equal(isValidNumber(phone), phone.isValid(), `${input} (country ${phone.country ?? 'unknown'})`)
  }
})
