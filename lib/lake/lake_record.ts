/**
 * The records the lake takes in, declared here so that `lake/` depends on no transport:
 * the consumer's REST Proxy records (`ConsumerRecord` in
 * `rest_proxy/rest_consumer_client.ts`) and its skipped poison records (`PoisonRecord` in
 * `consumer/consumer_session.ts`) have these shapes and are passed as they are.
 *
 * @module
 */

/** One record read from a topic, as the lake writer takes it. */
export interface LakeRecord {
  /** Record value (JSON) or null. */
  value: unknown;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
  /**
   * Set when the record's value arrived as text that is not JSON (`value` is then `null`):
   * why, and the record's text, for its dead letter.
   */
  unreadable?: { reason: string; text: string };
}

/** A record the transport could not return at all (only its position and a message). */
export interface UnreadableRecord {
  /** Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
  /** The transport's message. */
  message: string;
}
