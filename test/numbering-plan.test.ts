import t from 'tap'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { isValidNumber } from '../lib/fast-paths/numbering-plan.js'
import { compareWithLibrary, regions } from './helpers/phone-numbers.js'

// The fast numbering-plan check must give exactly libphonenumber-js's answers. The suite checks a sample of
// the generated numbers; `npm run bench` checks a million (bench/numbering-plan.ts).
// Two fixed seeds, so a rare disagreement cannot come and go between runs, and one new seed each run (printed).
const randomSeed = Number(process.env.NUMBERING_PLAN_SEED ?? Date.now() % 2 ** 31)
for (const seed of [1, 2, randomSeed]) {
  t.test(`the numbering-plan check agrees with libphonenumber-js on generated numbers of every region (seed ${seed})`, async (t) => {
    const sample = 20_000
    const { read, regions: regionsSeen, disagreements } = compareWithLibrary(isValidNumber, sample, seed)
    t.same(disagreements.slice(0, 20), [], `no disagreements (rerun with NUMBERING_PLAN_SEED=${seed})`)
    t.ok(read > sample * 0.9, `the library read most generated numbers (${read} of ${sample})`)
    // The sample covers every region, and lands on both sides of the plans: a check that always said
    // "valid" or always "invalid" would disagree.
    t.equal(regionsSeen.size, regions().length, 'every region of the metadata')
    const valid = [...regionsSeen.values()].reduce((sum, seen) => sum + seen.valid, 0)
    t.ok(valid > read * 0.2 && valid < read * 0.8, `both valid and invalid numbers (${valid} of ${read} valid)`)
    const regionsWithBoth = [...regionsSeen.values()].filter((seen) => seen.valid > 0 && seen.invalid > 0).length
    t.ok(regionsWithBoth > regionsSeen.size * 0.8, `most regions with both (${regionsWithBoth} of ${regionsSeen.size})`)
  })
}

t.test('fixed numbers: no country (calling-code plans, non-geographic numbers), and numbers only the plan\'s own pattern refuses', async (t) => {
  // +1 with an unassigned area code leaves the country unknown; the library then uses the calling code's main plan.
  // The German ones match a number type's pattern but not the plan's own (only that check refuses them).
  for (const input of [
    '+12015550123', '+19995550123', '+80012345678', '+882399999999', '+70000000000', '+447400123456', '+447400',
    '+919876543210', '+4949604215', '+494940805', '+4949376505', '+390612345678'
  ]) {
    const phone = parsePhoneNumberFromString(input, { extract: false })
    if (phone === undefined) continue
    t.equal(isValidNumber(phone), phone.isValid(), `${input} (country ${phone.country ?? 'unknown'})`)
  }
})
