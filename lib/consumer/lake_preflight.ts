/**
 * {@linkcode prepareLake}: what the consumer checks about the lake before it reads: that the
 * lake is not in the single-writer format of earlier versions, and that the store honours
 * conditional creates, on which fencing concurrent owners of a partition depends (unless
 * `LAKE_SINGLE_WRITER=true` says that one consumer process writes this lake).
 *
 * @module
 */
import type { ConsumeContext } from "./consume_context.ts";

/**
 * Checks the lake's format and the store's conditional create.
 *
 * @param ctx the protocol, the config and the stop signal
 * @throws {Error} for a single-writer lake, or a store that ignores conditional creates
 */
export async function prepareLake(ctx: ConsumeContext): Promise<void> {
  const { protocol, signal, config, log } = ctx;
  await protocol.refuseSingleWriterLake(signal);
  if (await protocol.probeConditionalCreate(signal)) return;
  if (config.lakeSingleWriter) {
    log.warn(
      "the lake store ignores conditional creates: running as its single writer " +
        "(LAKE_SINGLE_WRITER=true); a second consumer on this lake would duplicate and lose data",
      {},
    );
    return;
  }
  throw new Error(
    "Cannot fence concurrent consumers: the lake store ignores conditional creates " +
      "(a second PUT with If-None-Match: * of the same key succeeded). Use Amazon S3, MinIO or " +
      "a store that honours them, or set LAKE_SINGLE_WRITER=true if exactly one consumer " +
      "process ever writes this lake",
  );
}
