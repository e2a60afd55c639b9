import { createServer, type AddressInfo } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { Channel, SendArgs } from '../../lib/index.js'

/** The arguments the plugin gives `send`, with a stand-in request that has only the headers a sender reads. */
export function sendArgs (channel: Channel, to: string, headers: Record<string, string> = {}, code = '123456', expiresIn = 600): SendArgs {
  return { channel, to, code, expiresIn, request: { headers } as unknown as FastifyRequest }
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
