// `npm start`: the example app on 127.0.0.1:3000 (HOST and PORT change that), on Redis when REDIS_URL is set.
import { buildExampleApp } from './app.mjs'

const app = await buildExampleApp({ redisUrl: process.env.REDIS_URL })
const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.log.info(`${signal}: closing`)
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}

await app.listen({ host, port })
app.log.info(`Try it: open http://${host.includes(':') ? `[${host}]` : host}:${port}/ (store: ${process.env.REDIS_URL ? 'Redis' : 'in-process MemoryStore'})`)
