// Phone numbers for the differential test of lib/fast-paths/numbering-plan.ts against libphonenumber-js: generated
// in turn for every region of the full metadata (each country and each non-geographic calling code), in shapes that
// land on both sides of each numbering plan, and the comparison with the library's own check. Used by
// test/numbering-plan.test.ts (a sample) and `npm run bench` (a million).
import { Metadata, type MetadataJson } from 'libphonenumber-js/core'
import { getCountries, getCountryCallingCode, getExampleNumber, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/examples.mobile.json'
import metadata from 'libphonenumber-js/metadata.max.json'

export interface GeneratedNumber {
  /** What a user would type: international (`+91…`), or national digits read with `defaultCountry`. */
  input: string
  defaultCountry: CountryCode | undefined
  /** The region it was generated for: a country, or a non-geographic calling code (`'800'`). */
  region: string
}

interface Region { region: string, callingCode: string, country: CountryCode | undefined, lengths: number[], example: string | undefined }

/** Every region of the full metadata, with its calling code, possible national lengths and mobile example. */
export function regions (): Region[] {
  const countries = getCountries().map((country): Region => {
    const plan = new Metadata(metadata as unknown as MetadataJson)
    plan.selectNumberingPlan(country)
    return {
      region: country,
      callingCode: getCountryCallingCode(country),
      country,
      lengths: plan.numberingPlan?.possibleLengths() ?? [],
      example: getExampleNumber(country, examples)?.nationalNumber
    }
  })
  // Non-geographic numbers (+800 freephone, +882 satellite, …): their metadata is keyed by calling code.
  const nonGeographic = Object.entries((metadata as { nonGeographic: Record<string, unknown[]> }).nonGeographic).map(([callingCode, plan]): Region => ({
    region: callingCode,
    callingCode,
    country: undefined,
    lengths: possibleLengthsOf(plan),
    example: undefined
  }))
  return [...countries, ...nonGeographic]
}

// A non-geographic plan's possible lengths, read the way the library's NumberingPlan does (field 3, then 2).
function possibleLengthsOf (plan: unknown[]): number[] {
  const lengths = plan[3] ?? plan[2]
  return Array.isArray(lengths) ? lengths as number[] : []
}

/** `count` numbers, the regions taken in turn, from a seeded generator (the same numbers for the same seed). */
export function * generateNumbers (count: number, seed: number): Generator<GeneratedNumber> {
  const random = mulberry32(seed)
  const int = (below: number): number => Math.floor(random() * below)
  const digits = (n: number): string => Array.from({ length: n }, () => String(int(10))).join('')
  const all = regions()
  for (let i = 0; i < count; i++) {
    const region = all[i % all.length] as Region
    const lengths = region.lengths.length > 0 ? region.lengths : [8]
    // A possible length, and now and then one past either end of the plan's lengths.
    let length = lengths[int(lengths.length)] as number
    const shape = int(10)
    if (shape === 0) length += int(2) === 0 ? -1 : 1
    length = Math.max(1, Math.min(17, length))
    let national: string
    if (region.example !== undefined && shape <= 4) {
      // Most of a real number's leading digits, the rest random: lands in the plan's own ranges.
      const keep = 1 + int(Math.max(1, Math.min(region.example.length, length) - 1))
      national = region.example.slice(0, keep) + digits(Math.max(0, length - keep))
    } else if (region.example !== undefined && shape === 5) {
      // A real number with one digit changed.
      const at = int(region.example.length)
      national = region.example.slice(0, at) + String(int(10)) + region.example.slice(at + 1)
    } else {
      // Mostly without a leading 0 (a national prefix in many plans), sometimes with one (Italian landlines).
      national = String(int(8) === 0 ? 0 : 1 + int(9)) + digits(length - 1)
    }
    // Some numbers as national digits, read with the region as the default country (a national prefix may
    // then be taken off); the rest in international form.
    const asNational = region.country !== undefined && int(5) === 0
    yield asNational
      ? { input: (int(3) === 0 ? '0' : '') + national, defaultCountry: region.country, region: region.region }
      : { input: `+${region.callingCode}${national}`, defaultCountry: undefined, region: region.region }
  }
}

export interface Comparison {
  /** Numbers the library could read at all (the others have nothing to check). */
  read: number
  /** Read numbers by the region they were generated for, with the library's answers. */
  regions: Map<string, { valid: number, invalid: number }>
  disagreementCount: number
  /** The first `keep` disagreements, as `input (region[, national]): library says …`. */
  disagreements: string[]
}

/** `check` against libphonenumber-js's own `isValid()` on `count` generated numbers. */
export function compareWithLibrary (check: (phone: PhoneNumber) => boolean, count: number, seed: number, keep = 20): Comparison {
  const result: Comparison = { read: 0, regions: new Map(), disagreementCount: 0, disagreements: [] }
  for (const number of generateNumbers(count, seed)) {
    const phone = parsePhoneNumberFromString(number.input, { defaultCountry: number.defaultCountry, extract: false })
    if (phone === undefined) continue
    result.read++
    const expected = phone.isValid()
    if (check(phone) !== expected) {
      result.disagreementCount++
      if (result.disagreements.length < keep) {
        result.disagreements.push(`${number.input} (${number.region}${number.defaultCountry === undefined ? '' : ', national'}): library says ${String(expected)}`)
      }
    }
    const seen = result.regions.get(number.region) ?? { valid: 0, invalid: 0 }
    seen[expected ? 'valid' : 'invalid']++
    result.regions.set(number.region, seen)
  }
  return result
}

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
