import { randomUUID } from 'node:crypto'
import { startFakeHttp, type FakeAnswer, type FakeHttpServer, type RecordedRequest, type Tap } from './fake-http.js'

export const TWO_FACTOR_KEY = '2f0e9c8a-1b2c-4d5e-8f90-a1b2c3d4e5f6'

const smsPath = /^\/API\/V1\/([^/]+)\/SMS\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/

/**
 * Imitates 2Factor.in's SMS OTP API: `GET /API/V1/{key}/SMS/{number}/{otp}[/{template}]`, answering
 * `{ Status: 'Success', Details: <session id> }`, or, like 2Factor, HTTP 200 with `Status: 'Error'` for a bad key.
 */
export function twoFactorAnswer (request: RecordedRequest): FakeAnswer {
  const match = smsPath.exec(request.url)
  if (request.method !== 'GET' || match === null) return { status: 404, body: '<html>Not Found</html>' }
  const [, key, phone = '', otp = ''] = match.map((part) => part === undefined ? undefined : decodeURIComponent(part))
  if (key !== TWO_FACTOR_KEY) return { status: 200, body: { Status: 'Error', Details: 'Invalid API Key - Not Found' } }
  if (!/^\d{8,15}$/.test(phone)) return { status: 200, body: { Status: 'Error', Details: 'Invalid Phone Number - Check Number Format' } }
  if (!/^\d{4,10}$/.test(otp)) return { status: 200, body: { Status: 'Error', Details: 'Invalid OTP Value' } }
  return { status: 200, body: { Status: 'Success', Details: randomUUID() } }
}

export async function startFake2Factor (t: Tap): Promise<FakeHttpServer> {
  return await startFakeHttp(t, twoFactorAnswer)
}
