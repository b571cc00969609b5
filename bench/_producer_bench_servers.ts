/**
 * Servers for `producer_bench.ts`: an SSE stream of the repeated recording
 * (pre-generated once, so serving costs almost nothing) and a produce endpoint
 * that acknowledges immediately with correct offsets.
 *
 * Two ways to run them, both off the producer's thread:
 * - as a worker: post `{base, total}`, receive `{sse, proxy}` URLs;
 * - as a separate process: `deno run -A _producer_bench_servers.ts serve <total>` prints
 *   one JSON line `{sse, proxy}` and serves until its stdin closes.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { repeatedLine } from "./_repeat_events.ts";

const RECORDING = new URL(
  "../../shared/data/recentchange/6rzan-real-time-system_2026-05-05.ndjson",
  import.meta.url,
);

function streamChunks(base: readonly string[], total: number): Uint8Array[] {
  const encoder = new TextEncoder();
  const chunks = [encoder.encode(":ok\n\n")];
  for (let i = 0; i < total;) {
    let text = "";
    for (let n = 0; n < 64 && i < total; n++, i++) {
      const { line, timeMs } = repeatedLine(base, i);
      text += `event: message\nid: [{"topic":"eqiad.mediawiki.recentchange","partition":0,` +
        `"timestamp":${timeMs + 1}},{"topic":"codfw.mediawiki.recentchange","partition":0,` +
        `"offset":-1}]\ndata: ${line}\n\n`;
    }
    chunks.push(encoder.encode(text));
  }
  return chunks;
}

/**
 * Counts the elements of the `records` array of a v2 produce body with a structural
 * scan (strings skipped, brackets counted): the endpoint acknowledges without
 * parsing the events, so the benchmark measures the producer, not a JSON parser.
 * A body that does not end its records array where expected is refused loudly.
 */
export function countRecords(body: Uint8Array): number {
  const n = body.length;
  let depth = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const c = body[i]!;
    if (c === 0x22) {
      // Skip a string: to the next quote not escaped by a backslash.
      for (i++; i < n; i++) {
        const d = body[i]!;
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      // Depth 2 is inside `records`: every object opened there is a record.
      if (depth === 2 && c === 0x7b) count++;
      depth++;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  if (depth !== 0) throw new Error(`the produce body is not balanced JSON (depth ${depth})`);
  return count;
}

/**
 * Starts both servers on 127.0.0.1, port 0.
 *
 * @param base the recorded lines
 * @param total events per stream connection
 * @returns the URLs and a shutdown function
 */
export function startBenchServers(
  base: readonly string[],
  total: number,
): { sse: string; proxy: string; shutdown(): Promise<void> } {
  const chunks = streamChunks(base, total);
  let offset = 0;
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const count = countRecords(await req.bytes());
    const offsets = Array.from({ length: count }, () => ({
      partition: 0,
      offset: offset++,
      error_code: null,
      error: null,
    }));
    return Response.json({ offsets, key_schema_id: null, value_schema_id: null });
  });
  const sse = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i >= chunks.length) controller.close();
        else controller.enqueue(chunks[i++]!);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    sse: `http://127.0.0.1:${(sse.addr as Deno.NetAddr).port}/v2/stream/recentchange`,
    proxy: `http://127.0.0.1:${(proxy.addr as Deno.NetAddr).port}`,
    shutdown: async () => {
      await Promise.all([sse.shutdown(), proxy.shutdown()]);
    },
  };
}

if (Deno.args[0] === "serve") {
  const servers = startBenchServers(
    (await Deno.readTextFile(RECORDING)).split("\n").filter((l) => l !== ""),
    Number(Deno.args[1]),
  );
  await Deno.stdout.write(
    new TextEncoder().encode(JSON.stringify({ sse: servers.sse, proxy: servers.proxy }) + "\n"),
  );
  for await (const _ of Deno.stdin.readable) { /* serve until stdin closes */ }
  Deno.exit(0);
} else {
  self.onmessage = (e: MessageEvent<{ base: string[]; total: number }>) => {
    const { sse, proxy } = startBenchServers(e.data.base, e.data.total);
    self.postMessage({ sse, proxy });
  };
}
