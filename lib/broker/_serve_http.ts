/**
 * Typed access to `Deno.serveHttp`, which serves HTTP/1.1 on a connection the caller
 * accepted itself. Deno 2 soft-removed it (no longer in the types, still in the runtime:
 * present and working in 2.9.6, the version this repository pins); `Deno.serve` has no way
 * to bound connections or to survive a failing `accept`, which is why the broker owns its
 * accept loop. A Deno without it fails at broker start with the message below (and
 * `tests/broker/connection_server_test.ts` fails), never halfway.
 *
 * @module
 */

/** One request of an {@linkcode HttpConn}. */
export interface RequestEvent {
  /** The request. */
  readonly request: Request;
  /** Sends the response; resolves once it is written, rejects when the peer is gone. */
  respondWith(response: Response | PromiseLike<Response>): Promise<void>;
}

/** The requests of one connection, in order. */
export interface HttpConn {
  /** The next request, or null once the connection is closed. */
  nextRequest(): Promise<RequestEvent | null>;
  /** Closes the connection (a pending {@linkcode HttpConn.nextRequest} resolves null). */
  close(): void;
}

type ServeHttp = (conn: Deno.Conn) => HttpConn;

/**
 * Returns `Deno.serveHttp`.
 *
 * @returns the function
 * @throws {TypeError} when this Deno does not have it
 */
export function denoServeHttp(): ServeHttp {
  const serveHttp = (Deno as unknown as { serveHttp?: ServeHttp }).serveHttp;
  if (typeof serveHttp !== "function") {
    throw new TypeError(
      `Cannot start the broker's HTTP server: Deno ${Deno.version.deno} has no Deno.serveHttp ` +
        "(soft-removed in Deno 2, present in 2.9.6); run the Deno version in .ci/run",
    );
  }
  return serveHttp.bind(Deno);
}
