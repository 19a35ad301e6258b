import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FlushPlan } from './processor.js'

/** The engine's Prometheus metrics, on their own registry. */
export class EngineMetrics {
  readonly registry = new Registry()
  readonly eventsIn = new Counter({ name: 'streamcube_events_in_total', help: 'Records read, by topic', labelNames: ['topic'], registers: [this.registry] })
  readonly eventsOut = new Counter({ name: 'streamcube_events_out_total', help: 'Accepted events fed to a pipeline', labelNames: ['pipeline'], registers: [this.registry] })
  readonly deadLettered = new Counter({ name: 'streamcube_dead_lettered_total', help: 'Records sent to the dead-letter topic', labelNames: ['topic'], registers: [this.registry] })
  readonly late = new Counter({ name: 'streamcube_late_total', help: 'Events older than watermark − allowed lateness, sent to the late topic', labelNames: ['topic'], registers: [this.registry] })
  readonly lateAccepted = new Counter({ name: 'streamcube_late_accepted_total', help: 'Events behind the watermark but within the allowed lateness (cube updated)', labelNames: ['topic'], registers: [this.registry] })
  readonly duplicates = new Counter({ name: 'streamcube_duplicates_total', help: 'Events whose id was already seen within the horizon', labelNames: ['topic'], registers: [this.registry] })
  readonly retries = new Counter({ name: 'streamcube_retries_total', help: 'Retried sink operations', labelNames: ['operation'], registers: [this.registry] })
  readonly flushRows = new Histogram({ name: 'streamcube_flush_rows', help: 'Rows inserted per flush', buckets: [1, 10, 100, 1000, 10_000, 100_000], registers: [this.registry] })
  readonly flushSeconds = new Histogram({ name: 'streamcube_flush_seconds', help: 'Flush latency (commit pending → inserts → commit)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] })
  /**
   * Where a flush's time goes: the pending commit, forwarding dead letters and late events, the
   * table inserts (waiting for a sink session included) and the final commit. With insertSeconds
   * it tells a sink that is slow per insert from one that has too many inserts queued.
   */
  readonly flushPhaseSeconds = new Histogram({ name: 'streamcube_flush_phase_seconds', help: 'Flush latency by phase (pending_commit, forward, inserts, commit)', labelNames: ['phase'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] })
  readonly insertSeconds = new Histogram({ name: 'streamcube_insert_seconds', help: 'One table insert of a flush, on its sink session (retries included), by table', labelNames: ['table'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] })
  readonly groupMembers = new Histogram({ name: 'streamcube_flush_group_members', help: 'Partitions per group flush (one insert per table for all of them)', buckets: [2, 4, 8, 16, 32, 64], registers: [this.registry] })
  readonly groupRecoveries = new Counter({ name: 'streamcube_flush_group_recoveries_total', help: 'Pending group flushes found at a partition\'s start and resolved (rebuilt: every member re-read, the group re-inserted under its tokens; reused: another member of a group this worker had rebuilt)', labelNames: ['outcome'], registers: [this.registry] })
  readonly freshness = new Histogram({ name: 'streamcube_freshness_seconds', help: 'Event time → committed to ClickHouse, per accepted event', buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60, 300], registers: [this.registry] })
  readonly lag = new Gauge({ name: 'streamcube_consumer_lag', help: 'High watermark − next offset, per partition', labelNames: ['topic', 'partition'], registers: [this.registry] })
  readonly watermark = new Gauge({ name: 'streamcube_watermark_seconds', help: 'Published watermark per partition (event time; wall clock − idle timeout for an idle partition), epoch seconds', labelNames: ['topic', 'partition'], registers: [this.registry] })
  readonly paused = new Gauge({ name: 'streamcube_paused', help: '1 while consumption is paused by a slow sink', registers: [this.registry] })

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry })
  }

  /** One flush: of one partition's plan, or a group's (its plans, in one insert per table). */
  observeFlush(plans: readonly FlushPlan[], rows: number, seconds: number): void {
    const now = Date.now()
    for (const plan of plans) {
      const topic = plan.topic
      const c = plan.counts
      this.eventsIn.inc({ topic }, c.records)
      for (const [pipeline, n] of Object.entries(c.byPipeline)) this.eventsOut.inc({ pipeline }, n)
      if (c.deadLettered) this.deadLettered.inc({ topic }, c.deadLettered)
      if (c.tooLate) this.late.inc({ topic }, c.tooLate)
      if (c.lateAccepted) this.lateAccepted.inc({ topic }, c.lateAccepted)
      if (c.duplicates) this.duplicates.inc({ topic }, c.duplicates)
      // Freshness of the range: its newest and oldest events bound every event's freshness.
      if (c.accepted > 0) {
        this.freshness.observe(Math.max(0, (now - plan.maxEventTime) / 1000))
        this.freshness.observe(Math.max(0, (now - plan.minEventTime) / 1000))
      }
    }
    this.flushRows.observe(rows)
    this.flushSeconds.observe(seconds)
  }
}
