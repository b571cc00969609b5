import assert from "node:assert/strict";
import { ConfigError } from "../../lib/cli/config.ts";
import { openRecordSink } from "../../lib/producer/record_sink.ts";
import { RestProducerClient } from "../../lib/rest_proxy/rest_producer_client.ts";
import { RestV3ProducerClient } from "../../lib/rest_proxy/rest_v3_producer_client.ts";
import { testProducerConfig } from "../_helpers/producer_setup.ts";

Deno.test("openRecordSink picks the v2 client by default and the v3 client for KAFKA_REST_API=v3", async () => {
  assert.ok(openRecordSink(testProducerConfig({})) instanceof RestProducerClient);
  const v3 = openRecordSink(testProducerConfig({
    KAFKA_REST_API: "v3",
    KAFKA_REST_URL: "https://pkc-1.confluent.cloud:443/kafka",
    KAFKA_REST_CLUSTER_ID: "lkc-1",
  }));
  assert.ok(v3 instanceof RestV3ProducerClient);
  assert.equal(
    (await v3.url()).href,
    "https://pkc-1.confluent.cloud/kafka/v3/clusters/lkc-1/topics/wikimedia-changes/records",
  );
});

Deno.test("openRecordSink refuses KAFKA_REST_API=v3 with KAFKA_REST_FLAVOR=redpanda", () => {
  assert.throws(
    () =>
      openRecordSink(testProducerConfig({ KAFKA_REST_API: "v3", KAFKA_REST_FLAVOR: "redpanda" })),
    ConfigError,
    "KAFKA_REST_API=v3 cannot be used with KAFKA_REST_FLAVOR=redpanda",
  );
});
