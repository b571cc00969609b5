/**
 * The metrics endpoint options every program spreads into its option specs:
 * `METRICS_PORT` (off when unset) and `METRICS_HOST`.
 *
 * @module
 */
import { optionalIntOption, stringOption } from "../cli/config_options.ts";

/** Options for `GET /metrics` and `GET /healthz`. */
export const METRICS_OPTIONS = {
  metricsPort: optionalIntOption({
    env: "METRICS_PORT",
    description: "serve GET /metrics (Prometheus) and GET /healthz on this port; off when unset",
    min: 0,
    max: 65_535,
  }),
  metricsHost: stringOption<string>({
    env: "METRICS_HOST",
    description: "address the metrics endpoint listens on (0.0.0.0 inside a container)",
    default: "127.0.0.1",
  }),
};
