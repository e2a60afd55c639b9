import t from 'tap'
import { HOTP, Secret, TOTP } from 'otpauth'
import { matchStep, stepAt } from '../lib/totp/authenticator.js'

// RFC 6238 Appendix B: the seeds of the RFC's reference code, one per hash (20, 32 and 64 bytes).
const seeds = {
  SHA1: '12345678901234567890',
  SHA256: '12345678901234567890123456789012',
  SHA512: '1234567890123456789012345678901234567890123456789012345678901234'
} as const
const table: Array<[number, Record<keyof typeof seeds, string>]> = [
  [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
  [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
  [1111111111, { SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' }],
  [1234567890, { SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' }],
  [2000000000, { SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' }],
  [20000000000, { SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' }]
]

t.test('RFC 6238 Appendix B: TOTP with SHA-1, SHA-256 and SHA-512, 8 digits, 30-second steps', async (t) => {
  for (const [seconds, expected] of table) {
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      const secret = Secret.fromLatin1(seeds[algorithm])
      const code = TOTP.generate({ secret, algorithm, digits: 8, period: 30, timestamp: seconds * 1000 })
      t.equal(code, expected[algorithm], `T=${seconds} ${algorithm}`)
      t.equal(TOTP.validate({ token: expected[algorithm], secret, algorithm, digits: 8, period: 30, timestamp: seconds * 1000, window: 0 }), 0)
    }
  }
})

t.test('RFC 4226 Appendix D: HOTP, counters 0 to 9', async (t) => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
  const secret = Secret.fromLatin1('12345678901234567890')
  expected.forEach((code, counter) => {
    t.equal(HOTP.generate({ secret, algorithm: 'SHA1', digits: 6, counter }), code, `counter ${counter}`)
  })
})

t.test("the plugin's check finds the step of the RFC's SHA-1 codes (6 digits, as apps show them)", async (t) => {
  const seed = Buffer.from(seeds.SHA1)
  for (const [seconds, expected] of table) {
    const now = seconds * 1000
    const sixDigits = expected.SHA1.slice(-6)
    t.equal(stepAt(now), Math.floor(seconds / 30))
    t.equal(matchStep(seed, sixDigits, now), stepAt(now), `T=${seconds}: this step`)
    t.equal(matchStep(seed, sixDigits, now + 30_000), stepAt(now), 'from the next step: one step of drift')
    t.equal(matchStep(seed, sixDigits, now - 30_000), stepAt(now), 'from the step before')
    t.equal(matchStep(seed, sixDigits, now + 60_000), undefined, 'two steps later: refused')
    t.equal(matchStep(seed, sixDigits, now - 60_000), undefined, 'two steps earlier: refused')
  }
  t.equal(matchStep(seed, '12345', 59_000), undefined, 'a code of the wrong length')
})
