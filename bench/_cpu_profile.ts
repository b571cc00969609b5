/**
 * Samples a running `deno` process's CPU through its inspector (`--inspect=host:port`), over the
 * Chrome DevTools protocol, and sums the self time by pipeline stage and by function. Used by
 * `deno task bench:backlog --profile` for the "where the time goes" figures; the inspector
 * slows the program a little, so profiled runs are not the ones whose events/s we report.
 *
 * @module
 */

/** Self time of one bucket, in milliseconds, and its share of all samples. */
export interface ProfileLine {
  name: string;
  ms: number;
  share: number;
}

/** What a profile holds, summed. */
export interface ProfileSummary {
  totalMs: number;
  stages: ProfileLine[];
  functions: ProfileLine[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stage of a sampled frame, from the file it runs in (first match wins). */
const STAGES: [RegExp, string][] = [
  [/^\(garbage collector\)$/, "garbage collection"],
  [/^\(idle\)$/, "idle"],
  [/^\(program\)$/, "runtime (not JS)"],
  [
    /records_body|rest_consumer_client|bounded_body|concat_bytes|rest_records_decoder/,
    "HTTP read + JSON.parse",
  ],
  [/dedupe_window|seen_ids/, "dedupe"],
  [/event_batch_builder|_arrow_buffers|_iso_millis|untrusted_json|lake_record/, "column building"],
  [/parquet-wasm|^wasm:/, "parquet-wasm"],
  [/apache-arrow|parquet_encoder/, "Arrow IPC"],
  [/object_store|commit_protocol|unit_manifest|unit_commit|client-s3|smithy/, "upload + commit"],
  [/ext:deno_fetch|ext:deno_web\/06_streams|ext:deno_http/, "fetch / streams (runtime JS)"],
  [/\/lib\//, "other wikistream code"],
  [/^ext:|^node:/, "other runtime JS"],
];

function stageOf(frame: CallFrame): string {
  const key = frame.url === "" ? frame.functionName : frame.url;
  for (const [pattern, stage] of STAGES) if (pattern.test(key)) return stage;
  return frame.url === "" ? `native ${frame.functionName || "(anonymous)"}` : "other";
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*\/(lib|node_modules)\//, "$1/").replace(/.*\/node_modules\//, "");
}

/** A profiling session on one process's inspector. */
export class InspectorProfiler {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, (result: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const message = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.#pending.get(message.id)?.(message.result);
    };
  }

  /** Connects to the inspector on `port` (retrying while the process starts). */
  static async connect(port: number): Promise<InspectorProfiler> {
    let url: string | undefined;
    for (let i = 0; i < 100 && url === undefined; i++) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        url = list[0]?.webSocketDebuggerUrl;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (url === undefined) throw new Error(`no inspector answered on port ${port}`);
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return new InspectorProfiler(ws);
  }

  /** Starts sampling the CPU every `intervalUs` microseconds. */
  async startProfiling(intervalUs = 1000): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#call("Profiler.start");
  }

  /** Closes the connection (the process runs on). */
  close(): void {
    this.#ws.close();
  }

  /** Evaluates `expression` in the process's main realm and returns its value (JSON-able). */
  async evaluate(expression: string): Promise<unknown> {
    const answer = await this.#call("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }) as undefined | {
      result?: { value?: unknown };
    };
    return answer?.result?.value;
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    const answer = new Promise<unknown>((resolve) => this.#pending.set(id, resolve));
    this.#ws.send(JSON.stringify({ id, method, params }));
    return answer;
  }

  /** Stops sampling and sums the profile. */
  async stop(top = 25): Promise<ProfileSummary> {
    const { profile } = await this.#call("Profiler.stop") as { profile: CpuProfile };
    this.#ws.close();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const stages = new Map<string, number>();
    const functions = new Map<string, number>();
    let totalMs = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = byId.get(profile.samples[i]!)!.callFrame;
      const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
      const stage = stageOf(frame);
      if (stage === "idle") continue;
      totalMs += ms;
      stages.set(stage, (stages.get(stage) ?? 0) + ms);
      const fn = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${
        frame.lineNumber + 1
      }`;
      functions.set(fn, (functions.get(fn) ?? 0) + ms);
    }
    const lines = (m: Map<string, number>) =>
      [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, share: ms / totalMs }));
    return { totalMs, stages: lines(stages), functions: lines(functions).slice(0, top) };
  }
}

/** CPU ticks (user + system) a process has used, from `/proc/<pid>/stat`. */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Resident memory of a process by kind of mapping, from `/proc/<pid>/smaps`, in KiB: the
 * executable's pages, the `brk` heap of `malloc`, anonymous mappings (V8's heap pages, large
 * `malloc` blocks, malloc arenas, WebAssembly memory), and other files.
 */
export function residentByMapping(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = "anonymous";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1]!;
      kind = name === ""
        ? "anonymous"
        : name === "[heap]"
        ? "malloc brk heap"
        : name.endsWith("/deno")
        ? "deno executable"
        : name.startsWith("[")
        ? "other [special]"
        : "other files";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] = (out[kind] ?? 0) + Number(rss[1]);
  }
  return out;
}
