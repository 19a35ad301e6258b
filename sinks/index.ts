export { SinkError, SinkErrorCode } from './errors.js'
export * from './clickhouse/index.js'
