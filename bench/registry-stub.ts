import { createServer } from 'node:http'
import { avroType, LOCAL_SCHEMA_IDS, type EventType } from '../schemas/index.js'

/**
 * A schema registry for benches: answers `GET /schemas/ids/<id>` (all that a Confluent Avro reader
 * asks, ClickHouse's AvroConfluent format among them) with streamcube's schemas under their local
 * ids (LOCAL_SCHEMA_IDS), the ids streamcube's Confluent encoder writes without a registry.
 */
export async function serveLocalSchemas(): Promise<{ url: string; close(): void }> {
  const byId = new Map(Object.entries(LOCAL_SCHEMA_IDS).map(([type, id]) => [id, JSON.stringify(avroType(type as EventType).schema())]))
  const server = createServer((req, res) => {
    const id = /^\/schemas\/ids\/(\d+)/.exec(req.url ?? '')?.[1]
    const schema = id === undefined ? undefined : byId.get(Number(id))
    if (schema === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ schema }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() }
}
