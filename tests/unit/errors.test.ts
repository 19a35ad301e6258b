import { describe, expect, it } from 'vitest'
import { ApiErrorCode } from '../../api/index.js'
import { ConfigErrorCode, DecodeError, DecodeErrorCode } from '../../schemas/index.js'
import { SinkErrorCode } from '../../sinks/index.js'
import { EngineErrorCode } from '../../engine/index.js'
import { PipelineErrorCode } from '../../pipelines/index.js'
import { JobErrorCode } from '../../jobs/index.js'
import { CliErrorCode } from '../../cli/errors.js'

describe('error codes', () => {
  const lists = { DecodeErrorCode, SinkErrorCode, ApiErrorCode, ConfigErrorCode, EngineErrorCode, PipelineErrorCode, JobErrorCode, CliErrorCode }

  it('are unique across every stage', () => {
    const all = Object.values(lists).flatMap((l) => Object.values(l))
    expect(new Set(all).size).toBe(all.length)
  })

  it('carry their stage prefix', () => {
    const prefixes: Record<string, string> = { DecodeErrorCode: 'DECODE_', SinkErrorCode: 'SINK_', ApiErrorCode: 'API_', ConfigErrorCode: 'CONFIG_', EngineErrorCode: 'ENGINE_', PipelineErrorCode: 'PIPELINE_', JobErrorCode: 'JOB_', CliErrorCode: 'CLI_' }
    for (const [name, list] of Object.entries(lists)) for (const code of Object.values(list)) expect(code.startsWith(prefixes[name] as string), code).toBe(true)
  })

  it('only an unreachable registry is a retryable decode error', () => {
    for (const code of Object.values(DecodeErrorCode)) {
      expect(new DecodeError(code, 'x').retryable, code).toBe(code === DecodeErrorCode.REGISTRY_UNAVAILABLE)
    }
  })
})
