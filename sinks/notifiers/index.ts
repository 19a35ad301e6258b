export { deliverWebhook, signature, WebhookError } from './webhook.js'
export type { AlertmanagerAlert, AlertmanagerMessage, WebhookDelivery } from './webhook.js'
