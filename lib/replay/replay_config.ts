/**
 * Option specs of `deno task replay` (`replay.ts`), for {@linkcode parseConfig}.
 * The files to serve are positional arguments, not options.
 *
 * @module
 */
import type { ResolvedConfig } from "../cli/config.ts";
import { boolOption, intOption, stringOption } from "../cli/config_options.ts";

/** The replay's options: flags and `REPLAY_*` environment variables. */
export const REPLAY_OPTIONS = {
  port: intOption({
    env: "REPLAY_PORT",
    flag: "port",
    description: "TCP port of the replayed stream (0 picks a free port)",
    default: 8090,
    max: 65535,
  }),
  host: stringOption<string>({
    env: "REPLAY_HOST",
    flag: "host",
    description: "address to bind (0.0.0.0 inside a container)",
    default: "127.0.0.1",
  }),
  rate: intOption({
    env: "REPLAY_RATE",
    flag: "rate",
    description: "events published per second, like the live stream (0: all at once)",
    default: 50,
    max: 1_000_000,
  }),
  loop: boolOption({
    env: "REPLAY_LOOP",
    flag: "loop",
    description: "start over after the last event, with new meta.id, meta.dt and offsets",
    default: false,
  }),
};

/** The resolved replay configuration. */
export type ReplayConfig = ResolvedConfig<typeof REPLAY_OPTIONS>;
