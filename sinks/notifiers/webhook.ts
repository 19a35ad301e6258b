import { createHmac } from 'node:crypto'
import { withRetry, type RetryPolicy } from '../retry.js'
import { SinkError, SinkErrorCode } from '../errors.js'

/*
 * Alert notifications: a webhook that speaks Prometheus Alertmanager's webhook format (version 4),
 * so existing receivers work, signed with HMAC-SHA256, with a timeout per attempt and retries with
 * backoff; and the log. The alert evaluator decides what to send and when; these only deliver.
 */

/** One alert of an Alertmanager webhook message. */
export interface AlertmanagerAlert {
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}

/** The Alertmanager webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface AlertmanagerMessage {
  version: '4'
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: AlertmanagerAlert[]
}

/** A webhook delivery that failed: SINK_WEBHOOK, retryable or not by the receiver's answer. */
export class WebhookError extends SinkError {
  constructor(message: string, retryable: boolean, context: Record<string, unknown> = {}) {
    super(SinkErrorCode.WEBHOOK, message, { retryable, context })
  }
}

export interface WebhookDelivery {
  readonly url: string
  readonly body: AlertmanagerMessage
  /** Sent as Idempotency-Key: a receiver can drop a repeat delivery after a crash. */
  readonly key: string
  readonly secret?: string
  readonly timeoutMs: number
  readonly policy: RetryPolicy
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void | Promise<void>
  /** Aborted: no further attempt (a request in flight is cut). */
  readonly signal?: AbortSignal
}

/** Signature header value: `sha256=<hex HMAC of timestamp + "." + body>`. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/**
 * POSTs the message until the receiver answers 2xx; retries network errors, timeouts, 408, 429 and
 * 5xx with backoff; other 4xx are final. Never throws: resolves with the attempts made and, when
 * every attempt failed, the last error (the caller records the dead letter).
 */
export async function deliverWebhook(d: WebhookDelivery): Promise<{ attempts: number; error?: string }> {
  const body = JSON.stringify(d.body)
  let attempts = 0
  try {
    await withRetry(
      async () => {
        attempts++
        const timestamp = String(Math.floor(Date.now() / 1000))
        const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': d.key, 'user-agent': 'streamcube-alerts' }
        if (d.secret) {
          headers['x-streamcube-timestamp'] = timestamp
          headers['x-streamcube-signature'] = signature(d.secret, timestamp, body)
        }
        let res: Response
        try {
          res = await fetch(d.url, { method: 'POST', headers, body, signal: d.signal ? AbortSignal.any([AbortSignal.timeout(d.timeoutMs), d.signal]) : AbortSignal.timeout(d.timeoutMs) })
        } catch (err) {
          throw new WebhookError(`POST ${d.url} failed: ${(err as Error).message}`, true, { url: d.url })
        }
        await res.arrayBuffer().catch(() => undefined)
        if (res.ok) return
        const retryable = res.status === 408 || res.status === 429 || res.status >= 500
        throw new WebhookError(`POST ${d.url} answered ${res.status}`, retryable, { url: d.url, status: res.status })
      },
      { policy: d.policy, retryable: (err) => err instanceof WebhookError && err.retryable && !d.signal?.aborted, onRetry: d.onRetry, signal: d.signal },
    )
    return { attempts }
  } catch (err) {
    return { attempts, error: (err as Error).message }
  }
}
