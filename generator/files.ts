import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import avro from 'avsc'
import { avroType, EventTypes, EVENT_TYPES, type EventType } from '../schemas/index.js'
import type { GeneratedRecord } from './generator.js'

export const FileFormat = { ndjson: 'ndjson', avro: 'avro' } as const
export type FileFormat = (typeof FileFormat)[keyof typeof FileFormat]

export interface WriteFilesResult {
  readonly files: Readonly<Record<EventType, string>>
  readonly byType: Readonly<Record<EventType, number>>
  readonly written: number
}

type Sink = { write(e: unknown): boolean; end(): void; stream: NodeJS.WritableStream }

/**
 * Writes `count` generated records to one file per topic: NDJSON (one event per line) or Avro
 * object container files (schema in the header, readable by any Avro tool). Respects backpressure.
 */
export async function writeGeneratedFiles(
  source: Iterator<GeneratedRecord>,
  options: { out: string; count: number; format: FileFormat; onProgress?: (written: number) => void },
): Promise<WriteFilesResult> {
  mkdirSync(options.out, { recursive: true })
  const files = {} as Record<EventType, string>
  const sinks = {} as Record<EventType, Sink>
  for (const type of EVENT_TYPES) {
    const file = join(options.out, `${EventTypes[type].topic}.${options.format === 'avro' ? 'avro' : 'ndjson'}`)
    files[type] = file
    if (options.format === 'avro') {
      const encoder = avro.createFileEncoder(file, avroType(type), { codec: 'deflate' })
      sinks[type] = { write: (e) => encoder.write(e), end: () => encoder.end(), stream: encoder }
    } else {
      const stream: WriteStream = createWriteStream(file)
      sinks[type] = { write: (e) => stream.write(`${JSON.stringify(e)}\n`), end: () => stream.end(), stream }
    }
  }
  const byType: Record<EventType, number> = { behaviour: 0, order: 0, inventory: 0 }
  for (let i = 0; i < options.count; i++) {
    const r = source.next().value as GeneratedRecord
    byType[r.type]++
    if (!sinks[r.type].write(r.event.event)) await once(sinks[r.type].stream, 'drain')
    if (i % 10_000 === 9_999) options.onProgress?.(i + 1)
  }
  // Avro file encoders finish writing on their underlying file stream after 'finish'; wait for close.
  await Promise.all(
    EVENT_TYPES.map(async (t) => {
      const done = once(sinks[t].stream, options.format === 'avro' ? 'finish' : 'close')
      sinks[t].end()
      await done
    }),
  )
  options.onProgress?.(options.count)
  return { files, byType, written: options.count }
}
