/**
 * The typed context the consumer's parts share: {@linkcode ConsumeContext} holds what
 * `runConsumer` wires once (clients, lake, signals), {@linkcode ConsumeState} what the
 * consume loop reports of its progress (the current step).
 *
 * @module
 */
import type { Clock } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type { CommitProtocol } from "../lake/commit_protocol.ts";
import type { LakeLayout } from "../lake/lake_layout.ts";
import type { ConsumerConfig } from "./consumer_config.ts";
import type { ConsumerSession } from "./consumer_session.ts";
import type { ConsumerStats } from "./consumer_stats.ts";
import type { MemoryBudget } from "./memory_budget.ts";

/** What the consumer's parts use, wired once by `runConsumer`. */
export interface ConsumeContext {
  /** The consumer configuration. */
  config: ConsumerConfig;
  /** Logger. */
  log: Logger;
  /** Clock. */
  clock: Clock;
  /** Stats to update. */
  stats: ConsumerStats;
  /** The topic read (`KAFKA_TOPIC`). */
  topic: string;
  /** The lake's keys. */
  layout: LakeLayout;
  /** Publishes units and reads the lake state. */
  protocol: CommitProtocol;
  /** The consumer instance: reads, commits, keep-alive. */
  session: ConsumerSession;
  /** The stop signal: ends reading. */
  signal: AbortSignal;
  /** Aborts at the drain timeout after the stop: ends sealing and uploading. */
  sealing: AbortSignal;
  /** The name this consumer records as the owner of the units it claims. */
  owner: string;
  /** Longest wait for the records of an incomplete unit during a rebuild. */
  redoStallMs: number;
  /** The buffer and read sizes, from `CONSUMER_MEMORY_MB` and the settings set explicitly. */
  memory: MemoryBudget;
}

/** What recovery and the consume loop move forward; one per run. */
export interface ConsumeState {
  /** What the pipeline is doing, for the log line of a stop that abandons it. */
  step: string;
}
