/**
 * {@linkcode streamErrorToUsage}: turns the event stream's HTTP refusal into a
 * {@linkcode UsageError} that says what to change (User-Agent, stream URL, the saved
 * position).
 *
 * @module
 */
import { UsageError } from "../cli/usage_error.ts";
import type { SseHttpError } from "../sse/sse_client.ts";

/**
 * The usage error for an HTTP error of the event stream, with a hint per status.
 *
 * @param error the stream's HTTP error
 * @param stateDir the producer's state directory (named in the hints about a saved position)
 * @returns the error to throw
 */
export function streamErrorToUsage(error: SseHttpError, stateDir: string): UsageError {
  const head = `Cannot read the event stream at "${error.url}": HTTP ${error.status}${
    error.body ? ` (${error.body.replaceAll("\n", " ").slice(0, 200)})` : ""
  }`;
  let hint: string;
  if (error.status === 403) {
    hint = "Wikimedia refuses requests without a descriptive User-Agent: set USER_AGENT " +
      '(or --user-agent) to "yourtool/1.0 (https://your.site; you@example.org)"';
  } else if (error.status === 400) {
    hint =
      `check STREAM_URL (the stream name) and --since; if the saved position in "${stateDir}" ` +
      "is the cause, delete state.json and recent-ids.ndjson there or start with --from-now";
  } else if (error.status === 404) {
    hint = `check STREAM_URL; if the saved position in "${stateDir}" names a topic this stream ` +
      "does not have, delete state.json and recent-ids.ndjson there or start with --from-now";
  } else if (error.status === 200) {
    return new UsageError(`${error.message}: check STREAM_URL`, { cause: error });
  } else hint = "check STREAM_URL and USER_AGENT";
  return new UsageError(`${head}: ${hint}`, { cause: error });
}
