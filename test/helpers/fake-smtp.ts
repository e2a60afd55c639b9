import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { Tap } from './fake-http.js'

export interface ReceivedMail {
  /** SMTP envelope: MAIL FROM and RCPT TO. */
  from: string | undefined
  to: string[]
  /** The AUTH user, when the client logged in. */
  user: string | undefined
  /** Whether the message came over TLS (STARTTLS). */
  secure: boolean
  raw: string
  parsed: ParsedMail
}

export interface FakeSmtpOptions {
  /** Accepted logins; absent: no AUTH needed. */
  users?: Record<string, string>
  /** Offer STARTTLS (with smtp-server's built-in self-signed certificate); default false. */
  starttls?: boolean
  /** Say nothing at all after the TCP connect, or accept the message and never confirm it. */
  hang?: 'greeting' | 'data'
  /** Refuse every message with this reply, e.g. `{ code: 554, message: '5.7.1 rejected' }`. */
  reject?: { code: number, message: string }
}

export interface FakeSmtpServer {
  host: string
  port: number
  /** Messages accepted, in order. */
  mails: ReceivedMail[]
  /** Connections opened, including the ones left hanging. */
  connections: number
}

/** An SMTP server (the smtp-server package) on 127.0.0.1 and a free port; closed by the test's teardown. */
export async function startFakeSmtp (t: Tap, { users, starttls = false, hang, reject }: FakeSmtpOptions = {}): Promise<FakeSmtpServer> {
  const fake: FakeSmtpServer = { host: '127.0.0.1', port: 0, mails: [], connections: 0 }
  const server = new SMTPServer({
    logger: false,
    closeTimeout: 50,
    authOptional: users === undefined,
    allowInsecureAuth: true,
    disabledCommands: starttls ? [] : ['STARTTLS'],
    onConnect (_session, callback) {
      fake.connections++
      if (hang !== 'greeting') callback()
    },
    onAuth (auth, _session, callback) {
      if (users !== undefined && auth.username !== undefined && users[auth.username] === auth.password) {
        callback(null, { user: auth.username })
      } else {
        callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }))
      }
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      stream.on('end', () => {
        if (hang === 'data') return
        if (reject !== undefined) {
          callback(Object.assign(new Error(reject.message), { responseCode: reject.code }))
          return
        }
        const raw = Buffer.concat(chunks).toString('utf8')
        simpleParser(raw).then((parsed) => {
          const from = session.envelope.mailFrom
          fake.mails.push({
            from: from === false ? undefined : from.address,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            secure: session.secure,
            raw,
            parsed
          })
          callback()
        }, callback)
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => { server.close(() => resolve()) }) })
  fake.port = (server.server.address() as AddressInfo).port
  return fake
}
