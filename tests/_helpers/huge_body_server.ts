/**
 * A local HTTP server whose answers can carry a huge body generated on demand (chunked, no
 * `Content-Length`), counting how much of each body the client pulled. It shows whether a
 * client reads a peer's body with a cap: one that reads it all pulls the whole body, one that
 * stops early pulls at most its cap plus what the socket buffers hold.
 *
 * @module
 */

/** One answer of {@linkcode startHugeBodyServer}. */
export interface HugeBodyAnswer {
  /** HTTP status. */
  status: number;
  /** Response headers. @default {} */
  headers?: Record<string, string>;
  /** A fixed body (ignored when `hugeBytes` is set). @default "" */
  body?: string;
  /** Serve this many bytes (prefix included) of `fill` instead, generated as the client reads. */
  hugeBytes?: number;
  /** The text the huge body repeats. @default "x" */
  fill?: string;
  /** Text before the repeated part of a huge body. @default "" */
  prefix?: string;
}

/** What the server saw of one request. */
export interface HugeBodyRequest {
  /** Request method. */
  method: string;
  /** Request URL. */
  url: string;
  /** Request headers. */
  headers: Headers;
  /** Bytes of the huge body the client pulled so far (0 for fixed bodies). */
  pulled: number;
  /** Whether the client cancelled the huge body before its end. */
  cancelled: boolean;
}

/** A running {@linkcode startHugeBodyServer}. */
export interface HugeBodyServer extends AsyncDisposable {
  /** The server's root URL. */
  url: URL;
  /** One record per request, in order. */
  requests: HugeBodyRequest[];
}

const CHUNK = 64 * 1024;

/**
 * Starts the server on 127.0.0.1 with a free port.
 *
 * @param answer picks the answer of each request (by its position and the request)
 * @returns the server
 */
export function startHugeBodyServer(
  answer: (index: number, request: Request) => HugeBodyAnswer,
): HugeBodyServer {
  const requests: HugeBodyRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const seen: HugeBodyRequest = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      pulled: 0,
      cancelled: false,
    };
    const a = answer(requests.length, request);
    requests.push(seen);
    if (a.hugeBytes === undefined) {
      return new Response(a.body ?? "", { status: a.status, headers: a.headers ?? {} });
    }
    const total = a.hugeBytes;
    const prefix = new TextEncoder().encode(a.prefix ?? "");
    const unit = new TextEncoder().encode(a.fill ?? "x");
    // the fill repeated past one chunk, so each chunk can start where the previous one ended
    const repeated = new Uint8Array(CHUNK + unit.length);
    for (let i = 0; i < repeated.length; i++) repeated[i] = unit[i % unit.length]!;
    let sentPrefix = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sentPrefix && prefix.length > 0) {
          sentPrefix = true;
          seen.pulled += prefix.length;
          controller.enqueue(prefix);
          return;
        }
        const n = Math.min(CHUNK, total - seen.pulled);
        if (n <= 0) {
          controller.close();
          return;
        }
        const at = (seen.pulled - prefix.length) % unit.length;
        seen.pulled += n;
        controller.enqueue(repeated.slice(at, at + n));
      },
      cancel() {
        seen.cancelled = true;
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: a.status, headers: a.headers ?? {} });
  });
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}/`),
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
