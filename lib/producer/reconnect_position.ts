/**
 * {@linkcode ReconnectPosition}: the `Last-Event-ID` of each in-process reconnect. The
 * read loop reports each received message; the SSE client asks for the id to send.
 *
 * @module
 */
import { rewindLastEventId } from "./resume_position.ts";

/** The id part of a received SSE message (decoded only when a reconnect needs it). */
export interface ReceivedMessage {
  /** The message's SSE id. */
  readonly id: string;
}

/**
 * In-process reconnects rewind the last received id by the small reconnect margin, relative
 * to the id sent for the connection that delivered it (so idle entries do not drift and
 * every connection with newer events advances); the replay is dropped by the id set.
 */
export class ReconnectPosition {
  readonly #marginMs: number;
  #sentId: string | undefined;
  #lastReceived: ReceivedMessage | undefined;
  #lastReceivedFrom: string | undefined;
  #lastReceivedTimeMs: number | undefined;

  /**
   * Creates the position with the id sent for the first connection.
   *
   * @param startId the id sent for the first connection
   * @param marginMs the reconnect margin (`reconnectMarginMs`)
   */
  constructor(startId: string | undefined, marginMs: number) {
    this.#sentId = startId;
    this.#marginMs = marginMs;
  }

  /**
   * Notes a received message that has an id.
   *
   * @param message the message
   */
  received(message: ReceivedMessage): void {
    this.#lastReceived = message;
    this.#lastReceivedFrom = this.#sentId;
  }

  /**
   * Notes the `meta.dt` of the last received event (the fallback when its id has none).
   *
   * @param timeMs the event time
   */
  receivedEventTime(timeMs: number): void {
    this.#lastReceivedTimeMs = timeMs;
  }

  /**
   * The id to send for the next connection, remembered as the one sent.
   *
   * @returns the `Last-Event-ID`, or undefined for the live end
   */
  resumeId(): string | undefined {
    const lastReceived = this.#lastReceived;
    if (lastReceived !== undefined) {
      const lastReceivedId = lastReceived.id;
      const lastReceivedFrom = this.#lastReceivedFrom;
      const lastReceivedTimeMs = this.#lastReceivedTimeMs;
      this.#sentId = rewindLastEventId(lastReceivedId, {
        marginMs: this.#marginMs,
        ...(lastReceivedFrom === undefined ? {} : { previousId: lastReceivedFrom }),
        ...(lastReceivedTimeMs === undefined ? {} : { fallbackTimestampMs: lastReceivedTimeMs }),
      }) ?? lastReceivedId;
    }
    return this.#sentId;
  }
}
