export * from './generator/index.js'
export { ensureTopics } from './kafka/topics.js'
export { kafkajsLogCreator, kafkajsLevel } from './kafka/kafkajs-logger.js'
