/**
 * Which REST Proxy produce API the producer speaks: `KAFKA_REST_API=v2` (the Confluent REST
 * Proxy v2 `POST /topics/{topic}`, the local broker, Redpanda) or `v3` (`POST
 * /v3/clusters/{id}/topics/{topic}/records`, the only produce API of Confluent Cloud), and
 * `KAFKA_REST_CLUSTER_ID` for v3 (when unset, the producer asks `GET /v3/clusters` once).
 *
 * @module
 */
import type { OptionSpec } from "../cli/config.ts";
import { enumOption, stringOption } from "../cli/config_options.ts";
import type { RestFlavor } from "./rest_flavor.ts";

/** A produce API version. */
export type RestApi = "v2" | "v3";

/** Every supported produce API version. */
export const REST_APIS: readonly RestApi[] = ["v2", "v3"];

/** `KAFKA_REST_API` and `KAFKA_REST_CLUSTER_ID`. */
export const REST_API_OPTIONS: {
  kafkaRestApi: OptionSpec<RestApi>;
  kafkaRestClusterId: OptionSpec<string | undefined>;
} = {
  kafkaRestApi: enumOption<RestApi>({
    env: "KAFKA_REST_API",
    description: "produce API: v2 (REST Proxy v2, local broker, Redpanda) or v3 (streaming " +
      "produce, Confluent Cloud)",
    default: "v2",
    values: REST_APIS,
    secret: false,
  }),
  kafkaRestClusterId: stringOption<string | undefined>({
    env: "KAFKA_REST_CLUSTER_ID",
    description: "Kafka cluster id in v3 produce URLs (unset: data[0].cluster_id of " +
      "GET /v3/clusters, asked once)",
    default: undefined,
    secret: false,
  }),
};

/**
 * Checks that the produce API exists in the REST Proxy dialect.
 *
 * @param api `KAFKA_REST_API`
 * @param flavor `KAFKA_REST_FLAVOR`
 * @returns the problem, or undefined when the pair works
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(restApiProblem("v3", "confluent"), undefined);
 * assert.match(restApiProblem("v3", "redpanda")!, /no v3 API/);
 * ```
 */
export function restApiProblem(api: RestApi, flavor: RestFlavor): string | undefined {
  if (api === "v3" && flavor === "redpanda") {
    return "KAFKA_REST_API=v3 cannot be used with KAFKA_REST_FLAVOR=redpanda: Redpanda's HTTP " +
      "Proxy has no v3 API; use KAFKA_REST_API=v2";
  }
  return undefined;
}
