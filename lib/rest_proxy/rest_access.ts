/**
 * {@linkcode openRestAccess}: how this program reaches the REST Proxy. It turns the access
 * options (HTTP Basic, bearer token, credentials in `KAFKA_REST_URL`'s userinfo, a private
 * CA, a client certificate) into one `fetch` for the REST clients that
 *
 * - sends the `Authorization` header on every call;
 * - verifies the proxy with the configured CA and presents the client certificate, through
 *   `Deno.createHttpClient`;
 * - turns a 401 or 403 and any TLS failure into a {@linkcode RestAccessError} (exit 2) that
 *   names the URL, what failed and which variables to set, instead of a retry loop.
 *
 * Credentials never appear in a message: the URL is shown without its userinfo.
 *
 * @module
 */
import { ConfigError } from "../cli/config.ts";
import { readErrorText } from "../cli/bounded_body.ts";
import { redactUrl } from "../cli/redact_url.ts";
import { RestAccessError } from "./rest_access_error.ts";
import { tlsFailure } from "./tls_failure.ts";

/** The access options, as `KAFKA_REST_ACCESS_OPTIONS` resolves them, and the proxy URL. */
export interface RestAccessConfig {
  /** `KAFKA_REST_URL`, possibly with `user:password@`. */
  readonly kafkaRestUrl: URL;
  /** `KAFKA_REST_USERNAME`. */
  readonly kafkaRestUsername?: string | undefined;
  /** `KAFKA_REST_PASSWORD`. */
  readonly kafkaRestPassword?: string | undefined;
  /** `KAFKA_REST_TOKEN`. */
  readonly kafkaRestToken?: string | undefined;
  /** `KAFKA_REST_CA_FILE`. */
  readonly kafkaRestCaFile?: string | undefined;
  /** `KAFKA_REST_CERT_FILE`. */
  readonly kafkaRestCertFile?: string | undefined;
  /** `KAFKA_REST_KEY_FILE`. */
  readonly kafkaRestKeyFile?: string | undefined;
}

/** How the program authenticates to the proxy. */
export type RestAuthScheme = "none" | "basic" | "bearer";

/** What {@linkcode openRestAccess} built; close it when the program stops. */
export interface RestAccess extends Disposable {
  /** The proxy URL without userinfo (the credentials travel in the header). */
  readonly url: URL;
  /** The `fetch` the REST clients use. */
  readonly fetch: typeof fetch;
  /** How it authenticates, for the start log line. */
  readonly auth: RestAuthScheme;
  /** Whether a private CA or a client certificate is configured. */
  readonly tls: "system" | "private-ca" | "mutual";
  /** Releases the TLS client. */
  close(): void;
}

/** Where {@linkcode openRestAccess} reads files and sends requests (tests replace them). */
export interface RestAccessDependencies {
  /** Reads a PEM file. @default Deno.readTextFile */
  readTextFile?(path: string): Promise<string>;
  /** The underlying fetch. @default globalThis.fetch */
  fetch?: typeof fetch;
}

function credentials(config: RestAccessConfig): {
  authorization: string | undefined;
  auth: RestAuthScheme;
  problems: string[];
} {
  const problems: string[] = [];
  const url = config.kafkaRestUrl;
  const fromUrl = url.username !== "" || url.password !== "";
  const user = config.kafkaRestUsername;
  const password = config.kafkaRestPassword;
  const token = config.kafkaRestToken;
  if (fromUrl && (user !== undefined || password !== undefined || token !== undefined)) {
    problems.push(
      "KAFKA_REST_URL carries credentials and KAFKA_REST_USERNAME, KAFKA_REST_PASSWORD or " +
        "KAFKA_REST_TOKEN is set too: give the credentials one way",
    );
  }
  if (token !== undefined && (user !== undefined || password !== undefined)) {
    problems.push(
      "KAFKA_REST_TOKEN and KAFKA_REST_USERNAME/KAFKA_REST_PASSWORD are both set: a proxy " +
        "takes either a bearer token or a user and password, so unset one",
    );
  }
  if (password !== undefined && user === undefined) {
    problems.push("KAFKA_REST_PASSWORD is set without KAFKA_REST_USERNAME: set the user too");
  }
  if (user !== undefined && password === undefined) {
    problems.push("KAFKA_REST_USERNAME is set without KAFKA_REST_PASSWORD: set the password too");
  }
  if (problems.length > 0) return { authorization: undefined, auth: "none", problems };
  if (token !== undefined) return { authorization: `Bearer ${token}`, auth: "bearer", problems };
  const basic = (u: string, p: string) =>
    `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${u}:${p}`)))}`;
  if (user !== undefined && password !== undefined) {
    return { authorization: basic(user, password), auth: "basic", problems };
  }
  if (fromUrl) {
    return {
      authorization: basic(decodeURIComponent(url.username), decodeURIComponent(url.password)),
      auth: "basic",
      problems,
    };
  }
  return { authorization: undefined, auth: "none", problems };
}

async function readPem(
  name: string,
  path: string,
  read: (path: string) => Promise<string>,
  problems: string[],
): Promise<string | undefined> {
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    problems.push(
      `${name} names "${path}", which cannot be read (${
        error instanceof Error ? error.name : String(error)
      }): check the path and that this user may read it`,
    );
    return undefined;
  }
  if (!text.includes("-----BEGIN ")) {
    problems.push(`${name} names "${path}", which is not a PEM file (no "-----BEGIN" line)`);
    return undefined;
  }
  return text;
}

/**
 * Builds the access to the REST Proxy from its options: checks that they fit together,
 * reads the PEM files and makes the TLS client.
 *
 * @param config the proxy URL and the access options
 * @param deps file reading and the underlying fetch
 * @returns the access; close it at the end
 * @throws {ConfigError} listing every problem (options that conflict, unreadable files)
 */
export async function openRestAccess(
  config: RestAccessConfig,
  deps: RestAccessDependencies = {},
): Promise<RestAccess> {
  const read = deps.readTextFile ?? Deno.readTextFile;
  const baseFetch = deps.fetch ?? globalThis.fetch;
  const { authorization, auth, problems } = credentials(config);
  const { kafkaRestCaFile: caFile, kafkaRestCertFile: certFile, kafkaRestKeyFile: keyFile } =
    config;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(
      "KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE go together: set both for mutual TLS",
    );
  }
  const tlsFiles = [caFile, certFile, keyFile].some((f) => f !== undefined);
  if (tlsFiles && config.kafkaRestUrl.protocol !== "https:") {
    problems.push(
      `KAFKA_REST_CA_FILE, KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE apply to TLS, but ` +
        `KAFKA_REST_URL is ${redactUrl(config.kafkaRestUrl)}: use https://`,
    );
  }
  const ca = caFile === undefined
    ? undefined
    : await readPem("KAFKA_REST_CA_FILE", caFile, read, problems);
  const cert = certFile === undefined
    ? undefined
    : await readPem("KAFKA_REST_CERT_FILE", certFile, read, problems);
  const key = keyFile === undefined
    ? undefined
    : await readPem("KAFKA_REST_KEY_FILE", keyFile, read, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  let client: Deno.HttpClient | undefined;
  if (tlsFiles) {
    const options: Deno.CreateHttpClientOptions = ca === undefined ? {} : { caCerts: [ca] };
    try {
      client = cert !== undefined && key !== undefined
        ? Deno.createHttpClient({ ...options, cert, key })
        : Deno.createHttpClient(options);
    } catch (error) {
      throw new ConfigError([
        `Cannot use the TLS files (KAFKA_REST_CA_FILE, KAFKA_REST_CERT_FILE, ` +
        `KAFKA_REST_KEY_FILE): ${error instanceof Error ? error.message : String(error)}; ` +
        "a client certificate must be X.509 v3 and its key must match it",
      ]);
    }
  }
  const url = new URL(config.kafkaRestUrl);
  url.username = "";
  url.password = "";
  const shown = url.origin;

  const accessFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (authorization !== undefined) headers.set("authorization", authorization);
    let response: Response;
    try {
      response = await baseFetch(input, {
        ...init,
        headers,
        ...(client === undefined ? {} : { client }),
      });
    } catch (error) {
      const failure = tlsFailure(error);
      if (failure === undefined) throw error;
      throw new RestAccessError(
        `Cannot connect to the REST Proxy at ${shown} over TLS: ${failure.what}; ${failure.fix}`,
        0,
        { cause: error },
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw new RestAccessError(
        refusal(response.status, await readErrorText(response)),
        response.status,
      );
    }
    return response;
  };

  function refusal(status: number, body: string): string {
    let said = body.slice(0, 300);
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") said = parsed.message.slice(0, 300);
    } catch {
      // not JSON: keep the text
    }
    const proxySaid = said.trim() === "" ? "" : ` (the proxy says: ${said.trim()})`;
    if (status === 401) {
      const fix = auth === "none"
        ? "it wants credentials: set KAFKA_REST_USERNAME and KAFKA_REST_PASSWORD (Confluent " +
          "Cloud: the API key and secret), or KAFKA_REST_TOKEN"
        : auth === "basic"
        ? "check KAFKA_REST_USERNAME and KAFKA_REST_PASSWORD (or the user in KAFKA_REST_URL)"
        : "check KAFKA_REST_TOKEN (it may have expired)";
      return `The REST Proxy at ${shown} refused the credentials (HTTP 401)${proxySaid}: ${fix}`;
    }
    return `The REST Proxy at ${shown} denied access (HTTP 403)${proxySaid}: the ${
      auth === "none" ? "anonymous user" : "authenticated user"
    } may not do this; grant it access to the topic or consumer group (or set ` +
      "KAFKA_REST_USERNAME/KAFKA_REST_PASSWORD or KAFKA_REST_TOKEN for a user that may)";
  }

  const close = () => client?.close();
  return {
    url,
    fetch: accessFetch,
    auth,
    tls: client === undefined ? "system" : cert !== undefined ? "mutual" : "private-ca",
    close,
    [Symbol.dispose]: close,
  };
}
