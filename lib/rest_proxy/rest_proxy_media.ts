/**
 * Media types of the Confluent REST Proxy v2 API, shared by the local broker
 * and the clients so both sides spell them the same way.
 *
 * @module
 */

/** Metadata and consumer-management calls. */
export const V2_JSON = "application/vnd.kafka.v2+json";
/** Produce with JSON values; read from a `format: json` instance. */
export const V2_EMBEDDED_JSON = "application/vnd.kafka.json.v2+json";
/** Produce with base64 values; read from a `format: binary` instance. */
export const V2_EMBEDDED_BINARY = "application/vnd.kafka.binary.v2+json";
