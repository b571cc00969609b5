/**
 * HTTP/1.1 over a bare TCP connection, for tests that must control exactly what arrives on
 * the broker's socket (nothing at all, half a body, a chunked body that never ends) and see
 * what comes back, which `fetch` hides.
 *
 * @module
 */

/** A response read from a raw connection. */
export interface RawResponse {
  /** Status code. */
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  /** Body text (by Content-Length, or up to the end of the connection). */
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Opens a TCP connection to the URL's host and port.
 *
 * @param url the server
 * @returns the connection
 */
export function rawConnect(url: URL): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: url.hostname, port: Number(url.port) });
}

/**
 * Writes text or bytes completely.
 *
 * @param conn the connection
 * @param data what to write
 */
export async function rawWrite(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * A request head (request line and headers, ending with the blank line).
 *
 * @param method the method
 * @param path the path
 * @param headers header lines
 * @returns the text
 */
export function requestHead(
  method: string,
  path: string,
  headers: Record<string, string>,
): string {
  const lines = Object.entries({ host: "127.0.0.1", ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * Reads one response, or null when the server closes the connection before any byte.
 *
 * @param conn the connection
 * @param timeoutMs longest wait
 * @returns the response, or null on a closed connection
 * @throws {Error} when nothing complete arrives in time
 */
export async function readResponse(
  conn: Deno.Conn,
  timeoutMs = 10_000,
): Promise<RawResponse | null> {
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  try {
    for (;;) {
      const head = text.indexOf("\r\n\r\n");
      if (head >= 0) {
        const parsed = parseHead(text.slice(0, head));
        const length = Number(parsed.headers.get("content-length") ?? NaN);
        const body = text.slice(head + 4);
        if (Number.isFinite(length) && encoder.encode(body).length >= length) {
          return { ...parsed, body };
        }
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (error) {
        if (timedOut) throw new Error(`No complete response within ${timeoutMs} ms: "${text}"`);
        if (text === "") return null; // reset by the server
        throw error;
      }
      if (n === null) {
        if (text === "") return null;
        const head = text.indexOf("\r\n\r\n");
        if (head < 0) throw new Error(`Connection closed inside a response head: "${text}"`);
        return { ...parseHead(text.slice(0, head)), body: text.slice(head + 4) };
      }
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the server closes the connection (reads and discards until end of stream).
 *
 * @param conn the connection
 * @param timeoutMs longest wait
 * @returns true when the server closed it, false when it stayed open for `timeoutMs`
 */
export async function closedByServer(conn: Deno.Conn, timeoutMs: number): Promise<boolean> {
  const buf = new Uint8Array(16 * 1024);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
    return true;
  } catch {
    return !timedOut;
  } finally {
    clearTimeout(timer);
  }
}

function parseHead(head: string): { status: number; headers: Map<string, string> } {
  const [statusLine, ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? NaN);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return { status, headers };
}

/**
 * Closes a connection that may already be closed.
 *
 * @param conn the connection
 */
export function rawClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}
