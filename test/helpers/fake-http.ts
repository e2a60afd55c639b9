import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  /** Path and query, as sent. */
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** What the fake does with one request: answer it, or hold it open without a word. */
export type FakeAnswer = { status: number, body?: unknown, headers?: Record<string, string> } | 'hang'

export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** Every request received, in order, including the ones left hanging. */
  requests: RecordedRequest[]
  /** Decides each answer; replace it to make the fake fail or hang. */
  answer: (request: RecordedRequest) => FakeAnswer
}

export interface Tap {
  teardown: (fn: () => unknown) => void
}

/** An HTTP server on 127.0.0.1 and a free port that records every request; closed by the test's teardown. */
export async function startFakeHttp (t: Tap, answer: FakeHttpServer['answer']): Promise<FakeHttpServer> {
  const fake: FakeHttpServer = { url: '', requests: [], answer }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      fake.requests.push(request)
      const reply = fake.answer(request)
      if (reply === 'hang') return
      const body = typeof reply.body === 'string' || reply.body === undefined ? reply.body ?? '' : JSON.stringify(reply.body)
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

/** A fake that answers `status` with `body` to everything. */
export const always = (status: number, body: unknown = {}): FakeHttpServer['answer'] => () => ({ status, body })
