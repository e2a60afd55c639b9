// `npm start`: the example app on 127.0.0.1:3000 (HOST and PORT change that), on Redis when REDIS_URL is set.
// Open it at http://localhost:3000: passkeys need a domain name, and the browser refuses them at 127.0.0.1.
// Authenticators are kept in a SQLite file, example-app/data/credentials.sqlite (CREDENTIALS_FILE changes it;
// set it empty to keep them in Redis or in memory as before): they survive a restart.
import { fileURLToPath } from 'node:url'
import { buildExampleApp } from './app.mjs'

const credentialsFile = process.env.CREDENTIALS_FILE ?? fileURLToPath(new URL('./data/credentials.sqlite', import.meta.url))
const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await buildExampleApp({ redisUrl: process.env.REDIS_URL, credentialsFile, port })

// Graceful shutdown: requests in flight finish, then the Redis connection closes, and the process exits on its
// own once nothing is left open (a plain process.exit would hide a leaked connection).
const shutdownTimeout = 10_000
let closing = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (closing) {
      app.log.warn(`${signal} again: exiting now`)
      process.exit(1)
    }
    closing = true
    app.log.info(`${signal}: closing, in-flight requests finish first`)
    setTimeout(() => {
      app.log.error(`still open ${shutdownTimeout} ms after ${signal}: exiting`)
      process.exit(1)
    }, shutdownTimeout).unref()
    app.close().then(() => app.log.info('closed'), (err) => {
      app.log.error({ err }, 'close failed')
      process.exit(1)
    })
  })
}

const address = await app.listen({ host, port })
app.log.info(`Listening on ${address}. Try it: open http://localhost:${port}/ (store: ${process.env.REDIS_URL ? 'Redis' : 'in-process MemoryStore'}${credentialsFile ? `; authenticators in ${credentialsFile}` : ''})`)
