import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A minimal Confluent-compatible schema registry (the REST calls producers and consumers make:
 * register under a subject, fetch by id, subject config) for tests on machines where the real
 * registry (not on Maven Central or npm) cannot be installed. Ids start at `firstId` so tests can
 * tell registry ids from streamcube's local ids 1-3.
 */
export interface TestRegistry {
  readonly url: string
  readonly schemas: Map<number, string>
  close(): Promise<void>
  /** Stops answering (connections refused) until `reopen`. */
  pause(): Promise<void>
  reopen(): Promise<void>
}

export async function startTestRegistry(firstId = 100): Promise<TestRegistry> {
  const schemas = new Map<number, string>()
  const bySubject = new Map<string, Map<string, number>>()
  const config = new Map<string, string>()
  let nextId = firstId
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' })
    res.end(JSON.stringify(body))
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const url = decodeURIComponent(req.url ?? '')
      let m: RegExpExecArray | null
      if (req.method === 'GET' && (m = /^\/schemas\/ids\/(\d+)/.exec(url))) {
        const schema = schemas.get(Number(m[1]))
        return schema ? json(res, 200, { schema }) : json(res, 404, { error_code: 40403, message: 'Schema not found' })
      }
      if ((m = /^\/config\/(.+)$/.exec(url))) {
        const subject = m[1] as string
        if (req.method === 'PUT') {
          const level = (JSON.parse(raw) as { compatibility: string }).compatibility
          config.set(subject, level)
          return json(res, 200, { compatibility: level })
        }
        const level = config.get(subject)
        return level ? json(res, 200, { compatibilityLevel: level }) : json(res, 404, { error_code: 40401, message: 'Subject not found' })
      }
      if (req.method === 'POST' && (m = /^\/subjects\/(.+)\/versions$/.exec(url))) {
        const subject = m[1] as string
        const schema = (JSON.parse(raw) as { schema: string }).schema
        const versions = bySubject.get(subject) ?? new Map<string, number>()
        bySubject.set(subject, versions)
        let id = versions.get(schema) ?? [...schemas.entries()].find(([, s]) => s === schema)?.[0]
        if (id === undefined) {
          id = nextId++
          schemas.set(id, schema)
        }
        versions.set(schema, id)
        return json(res, 200, { id })
      }
      json(res, 404, { error_code: 404, message: `no route ${req.method} ${url}` })
    })
  }
  let server: Server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const close = () => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  })
  return {
    url: `http://127.0.0.1:${port}`,
    schemas,
    close,
    pause: close,
    async reopen() {
      server = createServer(handler)
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
    },
  }
}
