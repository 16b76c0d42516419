import type { Logger } from 'pino';
import type { AlertManager } from './alerts/manager.js';
import type { BaselineConfig } from './baseline.js';
import type { CollectorConfig } from './config.js';
import type { CollectorMetrics } from './metrics.js';
import type { ChannelStats } from './notifiers/dispatch.js';
import type { SlotScheduler } from './speedtest/slots.js';
import type { InfluxStore } from './store/influx.js';
import type { Outbox } from './store/outbox.js';
import type { AgentRecord, StateStore } from './store/state.js';
import type { TargetsConfig } from './targets.js';

/** What the routes share; built once by app.ts. */
export interface CollectorContext {
  config: CollectorConfig;
  targets: TargetsConfig;
  baseline: BaselineConfig;
  state: StateStore;
  /** Absent on the embedded default: state, API and evaluation work, no series are written. */
  influx: InfluxStore | undefined;
  /** influx.outbox: reports are answered once their series are queued here (undefined: once written). */
  outbox: Outbox | undefined;
  /** Creates the database on first use (InfluxDB may come up after the collector); remembered once done. */
  influxReady: () => Promise<void>;
  log: Logger;
  now: () => Date;
  slots: SlotScheduler;
  alerts: AlertManager;
  channelStats: ChannelStats;
  /** The collector's own metrics (GET /metrics). */
  metrics: CollectorMetrics;
  /** Where agents open the speed-test streams; set once the speed-test listener (if any) is up. */
  speedtestUrl: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentRecord;
    /** Set by the ingest route when the report was a replay (for the metrics). */
    duplicateReport?: boolean;
    /** Set by the ingest route when it turned the report away because too many were being stored. */
    overloaded?: boolean;
    /** Set by the ingest route when it refused the report for a budget of its school. */
    overBudget?: boolean;
  }
}
