// Fast path: libphonenumber-js's `isValid()` rules with each pattern compiled once per numbering plan.
// Pays: reading a number with the check costs 4.4 µs against 12.0 µs with the library's own check (the bench's
// parts table, 2026-11-29): 7.6 µs of a login's 138 µs of server CPU, 5.5%. No plain path is left at run time
// (the library still parses every number); its `isValid()` is what test/numbering-plan.test.ts and the bench's
// million-number comparison hold this to.
import { Metadata, type CountryCallingCode, type CountryCode, type MetadataJson, type PhoneNumber } from 'libphonenumber-js/core'
// The metadata libphonenumber-js/max reads numbers with (one copy: the same module).
import metadataJson from 'libphonenumber-js/metadata.max.json'

/**
 * `phone.isValid()` of libphonenumber-js (full metadata), with each pattern compiled once instead of on every
 * call: the library's check builds a `RegExp` from the metadata's pattern text for every pattern it tries,
 * which is most of the cost of reading a number. The rules are the library's own (`isValidNumber` and
 * `getNumberType`): the numbering plan of the number's country (or of its calling code when no country is
 * known); a plan with number types is matched when the national number matches the plan's pattern and the
 * pattern of any type whose possible lengths hold its length; a plan without types by its pattern alone.
 * test/numbering-plan.test.ts holds both to the same answers over generated numbers of every region, and
 * `npm run bench` over a million.
 */
export function isValidNumber (phone: PhoneNumber): boolean {
  const key = phone.country ?? phone.countryCallingCode
  let plan = plans.get(key)
  if (plan === undefined) {
    plan = compilePlan(key)
    plans.set(key, plan)
  }
  const national = phone.nationalNumber
  if (!plan.pattern.test(national)) return false
  if (plan.types === undefined) return true
  for (const type of plan.types) {
    if ((type.lengths === undefined || type.lengths.includes(national.length)) && type.pattern.test(national)) return true
  }
  return false
}

interface Plan {
  pattern: RegExp
  /** Undefined for a plan without number types. */
  types: Array<{ pattern: RegExp, lengths: number[] | undefined }> | undefined
}

// At most one entry per country and non-geographic calling code in the metadata (about 250).
const plans = new Map<string, Plan>()

// The parts of the library's Metadata class that its own check reads (not in its type declarations).
interface TypeMetadata { pattern: () => string, possibleLengths: () => number[] | undefined }
interface PlanMetadata {
  nationalNumberPattern: () => string
  hasTypes: () => boolean
  type: (name: string) => TypeMetadata | undefined
}

// The order of getNumberType: it returns the first that matches, so a number is valid when any does.
const typeNames = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL']

function compilePlan (key: CountryCode | CountryCallingCode): Plan {
  const metadata = new Metadata(metadataJson as unknown as MetadataJson) as unknown as PlanMetadata & { selectNumberingPlan: (key: string) => void }
  metadata.selectNumberingPlan(key)
  const types = metadata.hasTypes()
    ? typeNames.flatMap((name) => {
      const type = metadata.type(name)
      // As isNumberTypeEqualTo: a type without a pattern never matches.
      if (type === undefined || !type.pattern()) return []
      return [{ pattern: entirely(type.pattern()), lengths: type.possibleLengths() }]
    })
    : undefined
  return { pattern: entirely(metadata.nationalNumberPattern()), types }
}

/** The RegExp the library's matchesEntirely builds from a pattern's text. */
const entirely = (pattern: string): RegExp => new RegExp('^(?:' + pattern + ')$')
