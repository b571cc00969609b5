/**
 * Worker for `producer_bench.ts`: serves the repeated recording as an SSE stream
 * or (role `proxy`) runs a produce endpoint that acknowledges immediately with correct offsets,
 * in workers (each role in its own) so the producer's own thread is measured alone.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { repeatedLine } from "./_repeat_events.ts";

interface Init {
  role: "sse" | "proxy";
  base: string[];
  total: number;
}

self.onmessage = (e: MessageEvent<Init>) => {
  const { role, base, total } = e.data;
  const encoder = new TextEncoder();
  let offset = 0;
  if (role === "proxy") {
    const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.json() as { records: unknown[] };
      const offsets = body.records.map(() => ({
        partition: 0,
        offset: offset++,
        error_code: null,
        error: null,
      }));
      return Response.json({ offsets, key_schema_id: null, value_schema_id: null });
    });
    self.postMessage({ url: `http://127.0.0.1:${(proxy.addr as Deno.NetAddr).port}` });
    return;
  }
  const sse = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i === 0) controller.enqueue(encoder.encode(":ok\n\n"));
        if (i >= total) {
          controller.close();
          return;
        }
        let text = "";
        for (let n = 0; n < 64 && i < total; n++, i++) {
          const { line, timeMs } = repeatedLine(base, i);
          text += `event: message\nid: [{"topic":"eqiad.mediawiki.recentchange","partition":0,` +
            `"timestamp":${timeMs + 1}},{"topic":"codfw.mediawiki.recentchange","partition":0,` +
            `"offset":-1}]\ndata: ${line}\n\n`;
        }
        controller.enqueue(encoder.encode(text));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  self.postMessage({
    url: `http://127.0.0.1:${(sse.addr as Deno.NetAddr).port}/v2/stream/recentchange`,
  });
};
