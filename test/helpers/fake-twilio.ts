import { randomBytes } from 'node:crypto'
import { startFakeHttp, type FakeAnswer, type FakeHttpServer, type RecordedRequest, type Tap } from './fake-http.js'

export const TWILIO_SID = 'AC' + '0123456789abcdef'.repeat(2)
export const TWILIO_TOKEN = 'twilio-auth-token-for-tests'

const messagesPath = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/

function twilioError (status: number, code: number, message: string): FakeAnswer {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } }
}

/**
 * Imitates Twilio's Messages API as far as a sender sees it: Basic auth with the account SID and token,
 * form fields To, Body and From or MessagingServiceSid, 201 with a message resource, Twilio's error bodies.
 */
export function twilioAnswer (request: RecordedRequest): FakeAnswer {
  const sid = messagesPath.exec(request.url)?.[1]
  if (request.method !== 'POST' || sid === undefined) return twilioError(404, 20404, 'The requested resource was not found')
  const expected = 'Basic ' + Buffer.from(`${sid}:${TWILIO_TOKEN}`).toString('base64')
  if (sid !== TWILIO_SID || request.headers.authorization !== expected) return twilioError(401, 20003, 'Authenticate')
  const form = new URLSearchParams(request.body)
  if (!form.has('To')) return twilioError(400, 21604, "A 'To' phone number is required.")
  if (!form.has('From') && !form.has('MessagingServiceSid')) return twilioError(400, 21603, "A 'From' phone number is required.")
  if (!form.get('Body')) return twilioError(400, 21602, 'Message body is required.')
  return {
    status: 201,
    body: {
      sid: 'SM' + randomBytes(16).toString('hex'),
      account_sid: sid,
      to: form.get('To'),
      from: form.get('From'),
      messaging_service_sid: form.get('MessagingServiceSid'),
      body: form.get('Body'),
      status: 'queued'
    }
  }
}

export async function startFakeTwilio (t: Tap): Promise<FakeHttpServer> {
  return await startFakeHttp(t, twilioAnswer)
}
