/**
 * {@linkcode readReplayEvents}: reads the NDJSON files a replay serves (one JSON
 * event per line, UTF-8, `\n` or `\r\n` line ends, blank lines skipped). A file
 * that starts with the gzip magic bytes is decompressed on the fly, whatever its
 * name. Every line must be a JSON object; the error names the file and the line
 * number but never quotes the line (a wrong path such as `.env` must not end up
 * in a log).
 *
 * @module
 */

/** Options for {@linkcode readReplayEvents}. */
export interface ReadReplayEventsOptions {
  /** Reads a file's bytes. @default Deno.readFile */
  readFile?: (path: string) => Promise<Uint8Array>;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function isObjectLine(line: string): boolean {
  try {
    const value = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Reads the events of NDJSON files (plain or gzip), in the order given.
 *
 * @param paths the files
 * @param options how to read a file
 * @returns the event texts, one JSON object each
 * @throws {SyntaxError} when a file is not UTF-8, is corrupt gzip, has a line that is not
 *   a JSON object, or holds no event
 * @throws {Deno.errors.NotFound} and the other file errors of `readFile`, unchanged
 * @example Read the shipped sample
 * ```ts ignore
 * const events = await readReplayEvents(["samples/recentchange-sample.ndjson.gz"]);
 * ```
 */
export async function readReplayEvents(
  paths: readonly string[],
  options: ReadReplayEventsOptions = {},
): Promise<string[]> {
  const readFile = options.readFile ?? Deno.readFile;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const events: string[] = [];
  for (const path of paths) {
    let bytes = await readFile(path);
    if (isGzip(bytes)) {
      try {
        bytes = await gunzip(bytes);
      } catch (error) {
        throw new SyntaxError(
          `Cannot read events from "${path}": it starts like gzip but does not decompress; ` +
            "pass an uncompressed .ndjson file or a complete .ndjson.gz",
          { cause: error },
        );
      }
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (error) {
      throw new SyntaxError(
        `Cannot read events from "${path}": it is not UTF-8 text; pass an NDJSON file ` +
          "(one JSON event per line), plain or gzip-compressed",
        { cause: error },
      );
    }
    const before = events.length;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
      if (line.trim() === "") continue;
      if (!isObjectLine(line)) {
        throw new SyntaxError(
          `Cannot read events from "${path}": line ${i + 1} is not a JSON object; ` +
            "a replay file is NDJSON with one recentchange event per line",
        );
      }
      events.push(line);
    }
    if (events.length === before) {
      throw new SyntaxError(
        `Cannot read events from "${path}": the file holds no event; pass an NDJSON file ` +
          "with one recentchange event per line",
      );
    }
  }
  return events;
}
