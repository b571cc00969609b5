/**
 * `POST /v3/clusters/{id}/topics` (KR-openapi `createKafkaTopic`): creates a topic, since v3
 * produce does not create topics (`produce_v3_handler.ts`). Body
 * `{"topic_name":"t","partitions_count":3}` (`replication_factor` and `configs` are accepted
 * and ignored); answers 201 with the KafkaTopic, 400 40002 when the topic exists or the name
 * is not a legal Kafka topic name, 404 for another cluster id.
 *
 * @module
 */
import { BrokerError } from "./broker_error.ts";
import { intField, objectWith, stringField } from "./request_body.ts";
import { topicNameProblem, type TopicStore } from "./topic_store.ts";

const CREATE_FIELDS = new Set(["topic_name", "partitions_count", "replication_factor", "configs"]);

/** Services of {@linkcode createTopicV3}. */
export interface TopicsV3Context {
  /** Topics. */
  topics: TopicStore;
  /** Partitions when the request does not say. */
  defaultPartitions: number;
}

/**
 * Creates a topic.
 *
 * @param body the parsed request body
 * @param clusterId the cluster id of the path (already checked)
 * @param root the broker's root URL with a trailing slash, for `metadata.self`
 * @param ctx topics and the default partition count
 * @returns the KafkaTopic body
 * @throws {BrokerError} 400 40002 for an existing topic or an illegal name, 422 for a
 *   missing name or an unknown field
 */
export async function createTopicV3(
  body: unknown,
  clusterId: string,
  root: string,
  ctx: TopicsV3Context,
): Promise<Record<string, unknown>> {
  if (body === undefined) throw new BrokerError(422, 422, "Request body must not be null");
  const b = objectWith(body, CREATE_FIELDS, "create topic request");
  const name = stringField(b, "topic_name");
  if (name === undefined) throw new BrokerError(422, 422, "topic_name must not be null");
  const problem = topicNameProblem(name);
  if (problem) throw new BrokerError(400, 40002, problem);
  if (ctx.topics.get(name)) throw new BrokerError(400, 40002, `Topic '${name}' already exists.`);
  const partitions = intField(b, "partitions_count") ?? ctx.defaultPartitions;
  if (partitions < 1) {
    throw new BrokerError(
      400,
      40002,
      `Number of partitions must be larger than 0: current value is ${partitions}`,
    );
  }
  const topic = await ctx.topics.getOrCreate(name, partitions);
  const self = `${root}v3/clusters/${clusterId}/topics/${name}`;
  return {
    kind: "KafkaTopic",
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/topic=${name}` },
    cluster_id: clusterId,
    topic_name: name,
    is_internal: false,
    replication_factor: 1,
    partitions_count: topic.partitions.length,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
    partition_reassignments: { related: `${self}/partitions/-/reassignment` },
  };
}
