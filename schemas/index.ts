export { StreamcubeError } from './streamcube-error.js'
export { DecodeError, DecodeErrorCode, ok, fail } from './errors.js'
export type { DecodeResult } from './errors.js'
export {
  BehaviourEventSchema,
  OrderEventSchema,
  InventoryEventSchema,
  OrderLineSchema,
  CustomerSchema,
  BehaviourAction,
  OrderStatus,
  ComplaintReason,
  InventoryKind,
  LossReason,
  Device,
  Channel,
  EventTypes,
  EVENT_TYPES,
} from './events.js'
export type { BehaviourEvent, OrderEvent, InventoryEvent, OrderLine, Customer, EventType, EventOf, TypedEvent } from './events.js'
export { validateEvent, checkEventTime, DEFAULT_TIME_BOUNDS } from './validate.js'
export type { TimeBounds } from './validate.js'
export { avroType, avroSchemaJson, eventTypeOfAvroName } from './avro.js'
export { LOCAL_SCHEMA_IDS, createConfluentRegistry } from './registry.js'
export type { SchemaRegistryClient } from './registry.js'
export * from './codecs/index.js'
export { parseSourceSpec, SOURCE_FORMATS, SOURCE_SPEC_HELP } from './sources.js'
export type { SourceFormat, SourceSpec } from './sources.js'
export { ConfigSchema, ConfigError, ConfigErrorCode, SETTINGS, loadConfig, requireBrokers, topicName, validTimeZone } from './config.js'
export type { Config, ConfigInput, ConfigOverrides } from './config.js'
export { minuteStart, MINUTE_MS, sleep, localMidnight, localDateOf } from './time.js'
