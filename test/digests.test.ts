import { createHash, createHmac, hkdfSync } from 'node:crypto'
import t from 'tap'
import { codeHasher, hashCode } from '../lib/codes.js'
import { DeviceTokens } from '../lib/devices.js'
import { sha256, userKeyer } from '../lib/tokens.js'

// The prepared forms must give the very digests a store already holds (codes, refresh tokens, challenges).
t.test('sha256 (one-shot where Node has it) is the SHA-256 digest of the UTF-8 text', async (t) => {
  for (const text of ['', 'abc', 'a'.repeat(1000), 'ünïcödé ✓ 😀', `${'x'.repeat(22)}.${'y'.repeat(22)}.${'z'.repeat(43)}`]) {
    t.equal(sha256(text), createHash('sha256').update(text, 'utf8').digest('base64url'), JSON.stringify(text.slice(0, 20)))
  }
})

t.test('codeHasher gives hashCode\'s HMAC under its secret', async (t) => {
  const secret = 'a-code-secret-that-is-long-enough-0123456789'
  const hasher = codeHasher(secret)
  for (const [identifier, code] of [['+919876543210', '123456'], ['ana@example.com', '000000'], ['ünï@xn--bcher-kva.de', '42']] as const) {
    const expected = createHmac('sha256', secret).update(`${identifier}:${code}`).digest('base64url')
    t.equal(hasher(identifier, code), expected, identifier)
    t.equal(hashCode(secret, identifier, code), expected)
  }
  t.not(codeHasher(`${secret}x`)('+919876543210', '123456'), hasher('+919876543210', '123456'), 'another secret, another digest')
})

t.test('the user key and device tokens are the HMACs they were (sessions and trusted devices outlive an upgrade)', async (t) => {
  const secret = 'a-code-secret-that-is-long-enough-0123456789'
  const userKeyKey = createHmac('sha256', secret).update('fastify-otp-login session user key').digest()
  const userKey = userKeyer(secret)
  for (const userId of ['42', 'user-ünï', '']) {
    t.equal(userKey(userId), createHmac('sha256', userKeyKey).update(userId).digest('base64url').slice(0, 22), JSON.stringify(userId))
  }
  const deviceKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'fastify-otp-login device-token', 32))
  const now = 1_800_000_000_000
  const devices = new DeviceTokens(secret, 3600, () => now)
  const expires = now / 1000 + 3600
  const mac = createHmac('sha256', deviceKey).update(`+919876543210\nd3v1c3-1d-000000000000\n${expires}`).digest('base64url')
  t.equal(devices.issue('+919876543210', 'd3v1c3-1d-000000000000'), `d3v1c3-1d-000000000000.${expires}.${mac}`)
  t.equal(devices.read('+919876543210', `d3v1c3-1d-000000000000.${expires}.${mac}`), 'd3v1c3-1d-000000000000')
})
