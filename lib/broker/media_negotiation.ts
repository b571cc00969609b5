/**
 * Content-Type and Accept rules of the REST Proxy v2 API (contract §1.1): which request
 * bodies are accepted (415 otherwise) and which response type an `Accept` header selects
 * (406 with an empty body when nothing matches).
 *
 * @module
 */
import { V2_EMBEDDED_BINARY, V2_EMBEDDED_JSON, V2_JSON } from "../rest_proxy/rest_proxy_media.ts";

const V2_TYPE_REGEXP =
  /^application\/vnd\.kafka(\.(binary|json|avro|jsonschema|protobuf))?\.v2\+json$/;

/**
 * The bare media type of a header value (parameters dropped, lower case).
 *
 * @param header a Content-Type value
 * @returns the media type, or undefined for a missing header
 */
export function mediaTypeOf(header: string | null): string | undefined {
  if (header === null) return undefined;
  const t = header.split(";")[0]!.trim().toLowerCase();
  return t === "" ? undefined : t;
}

/**
 * Whether a Content-Type is a v2 type (any embedded format).
 *
 * @param type a bare media type
 * @returns true for `application/vnd.kafka[.<embedded>].v2+json`
 */
export function isV2Type(type: string): boolean {
  return V2_TYPE_REGEXP.test(type);
}

/**
 * The embedded format of a produce Content-Type.
 *
 * @param type a bare media type
 * @returns `json` or `binary`, or undefined when the local broker cannot produce it
 */
export function produceFormat(type: string | undefined): "json" | "binary" | undefined {
  if (type === V2_EMBEDDED_JSON) return "json";
  if (type === V2_EMBEDDED_BINARY) return "binary";
  return undefined;
}

function acceptedRanges(accept: string | null): string[] {
  if (accept === null || accept.trim() === "") return ["*/*"];
  const out: string[] = [];
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!type) continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    out.push(type);
  }
  return out;
}

function rangeMatches(range: string, type: string): boolean {
  if (range === "*/*" || range === type) return true;
  if (range.endsWith("/*")) return type.startsWith(range.slice(0, -1));
  return false;
}

/**
 * Chooses the response type of a metadata or consumer-management call.
 *
 * @param accept the Accept header
 * @returns the Content-Type to answer with, or undefined for 406
 */
export function negotiateV2(accept: string | null): string | undefined {
  const ranges = acceptedRanges(accept);
  for (const type of [V2_JSON, "application/vnd.kafka+json", "application/json"]) {
    if (ranges.some((r) => rangeMatches(r, type))) return type;
  }
  return undefined;
}

/**
 * Chooses the reader of `GET …/records`: no Accept or `*∕*` selects binary.
 *
 * @param accept the Accept header
 * @returns the embedded format asked for and the response type, or undefined for 406
 */
export function negotiateRecords(
  accept: string | null,
): { format: string; contentType: string } | undefined {
  const ranges = acceptedRanges(accept);
  const candidates: [string, string][] = [
    ["binary", V2_EMBEDDED_BINARY],
    ["json", V2_EMBEDDED_JSON],
    ["avro", "application/vnd.kafka.avro.v2+json"],
    ["jsonschema", "application/vnd.kafka.jsonschema.v2+json"],
    ["protobuf", "application/vnd.kafka.protobuf.v2+json"],
  ];
  // an explicit embedded type wins over wildcards
  for (const range of ranges) {
    for (const [format, type] of candidates) {
      if (range === type) return { format, contentType: type };
    }
  }
  for (const range of ranges) {
    if (rangeMatches(range, V2_EMBEDDED_BINARY) || rangeMatches(range, V2_JSON)) {
      return { format: "binary", contentType: V2_EMBEDDED_BINARY };
    }
    if (range === "application/json" || range === "application/vnd.kafka+json") {
      return { format: "binary", contentType: V2_EMBEDDED_BINARY };
    }
  }
  return undefined;
}
