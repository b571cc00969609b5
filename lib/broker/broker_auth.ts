/**
 * The broker's optional authentication: HTTP Basic against the users file
 * (`users_file.ts`) and bearer tokens against the tokens file (`tokens_file.ts`), as a gate in
 * front of routing ({@linkcode requireAuth}), so every path the broker serves is covered
 * (REST, v3, `/_admin`, unknown paths). The metrics endpoint is a separate server and stays
 * open.
 *
 * A request without credentials the broker accepts is answered like Confluent REST Proxy's
 * Jetty authenticator: `401`, `WWW-Authenticate: Basic realm="wikistream-broker"` (and a
 * `Bearer` challenge when tokens are configured), body
 * `{"error_code":401,"message":"Unauthorized…"}`. There are no roles, so never `403`.
 * Secrets are compared as SHA-256 digests in constant time; an unknown user costs the same
 * work as a wrong password. A PBKDF2 check runs once per distinct user and password (later
 * requests with the same credentials hit a bounded cache of their digests), and checks run one
 * at a time, so a flood of wrong passwords costs one core and waits, bounded by the connection
 * limit.
 *
 * @module
 */
import { V2_JSON } from "../rest_proxy/rest_proxy_media.ts";
import {
  constantTimeEqual,
  encodeBase64,
  type Pbkdf2Hash,
  sha256,
  verifyPbkdf2,
} from "./password_hash.ts";
import type { UserEntry } from "./users_file.ts";

/** The realm of the `WWW-Authenticate` challenge. */
export const BROKER_REALM = "wikistream-broker";
/** The `error_code` of the 401 body (what Confluent REST Proxy's Jetty layer answers). */
export const UNAUTHORIZED_ERROR_CODE = 401;
/** Verified PBKDF2 credentials remembered at most (then the cache starts over). */
const MAX_VERIFIED = 1024;

/** Options for {@linkcode BrokerAuth.create}. */
export interface BrokerAuthOptions {
  /** Users for HTTP Basic. @default none (Basic never succeeds) */
  users?: readonly UserEntry[];
  /** SHA-256 digests of the accepted bearer tokens. @default none */
  tokens?: readonly Uint8Array[];
}

/** Checks `Authorization` headers against the configured users and tokens. */
export class BrokerAuth {
  readonly #users: Map<string, UserEntry>;
  readonly #tokens: readonly Uint8Array[];
  readonly #dummy: UserEntry;
  readonly #verified = new Set<string>();
  /** PBKDF2 checks run one at a time, so wrong passwords cannot take every core. */
  #pbkdf2Queue: Promise<unknown> = Promise.resolve();

  private constructor(
    users: readonly UserEntry[],
    tokens: readonly Uint8Array[],
    dummy: UserEntry,
  ) {
    this.#users = new Map(users.map((u) => [u.user, u]));
    this.#tokens = tokens;
    this.#dummy = dummy;
  }

  /**
   * Builds the checker.
   *
   * @param options users and token digests
   * @returns the checker
   * @throws {RangeError} when neither users nor tokens are given
   * @example Basic credentials of a plain entry
   * ```ts
   * import assert from "node:assert/strict";
   * import { parseUsersFile } from "./users_file.ts";
   * const auth = BrokerAuth.create({ users: await parseUsersFile("alice:pw\n", "users") });
   * assert.ok(await auth.authenticate(`Basic ${btoa("alice:pw")}`));
   * assert.ok(!(await auth.authenticate(`Basic ${btoa("alice:nope")}`)));
   * ```
   */
  static create(options: BrokerAuthOptions): BrokerAuth {
    const users = options.users ?? [];
    const tokens = options.tokens ?? [];
    if (users.length === 0 && tokens.length === 0) {
      throw new RangeError("Cannot enable broker authentication: no users and no tokens given");
    }
    // an unknown user is checked against this entry, so it costs what a known one costs
    const hashed = users.find((u) => u.kind === "pbkdf2");
    const dummy: UserEntry = hashed?.kind === "pbkdf2"
      ? { user: "", kind: "pbkdf2", hash: { ...hashed.hash, salt: new Uint8Array(16) } }
      : { user: "", kind: "plain", digest: crypto.getRandomValues(new Uint8Array(32)) };
    return new BrokerAuth(users, tokens, dummy);
  }

  /** Whether HTTP Basic users are configured. */
  get basic(): boolean {
    return this.#users.size > 0;
  }

  /** Whether bearer tokens are configured. */
  get bearer(): boolean {
    return this.#tokens.length > 0;
  }

  /**
   * Says whether an `Authorization` header carries accepted credentials.
   *
   * @param header the header's value, or null when absent
   * @returns true for a known user with the right password, or an accepted token
   */
  async authenticate(header: string | null): Promise<boolean> {
    if (header === null) return false;
    const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
    if (!match) return false;
    const scheme = match[1]!.toLowerCase();
    if (scheme === "basic" && this.basic) return await this.#basic(match[2]!);
    if (scheme === "bearer" && this.bearer) return await this.#bearer(match[2]!);
    return false;
  }

  /** The 401 answer for a request without accepted credentials. */
  unauthorized(): Response {
    const headers = new Headers({ "content-type": V2_JSON });
    if (this.basic) headers.append("www-authenticate", `Basic realm="${BROKER_REALM}"`);
    if (this.bearer) headers.append("www-authenticate", `Bearer realm="${BROKER_REALM}"`);
    const accepted = [
      this.basic ? "HTTP Basic credentials of a user in BROKER_USERS_FILE" : "",
      this.bearer ? "a bearer token of BROKER_TOKENS_FILE" : "",
    ].filter((s) => s !== "").join(" or ");
    const body = {
      "error_code": UNAUTHORIZED_ERROR_CODE,
      message: `Unauthorized: missing or invalid credentials; send ${accepted}`,
    };
    return new Response(JSON.stringify(body), { status: 401, headers });
  }

  async #basic(encoded: string): Promise<boolean> {
    let decoded: string;
    try {
      const binary = atob(encoded);
      decoded = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(binary, (c) => c.charCodeAt(0)),
      );
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const known = this.#users.get(user);
    const entry = known ?? this.#dummy;
    const ok = entry.kind === "plain"
      ? constantTimeEqual(await sha256(password), entry.digest)
      : await this.#pbkdf2(user, password, entry.hash);
    return ok && known !== undefined;
  }

  async #pbkdf2(user: string, password: string, hash: Pbkdf2Hash): Promise<boolean> {
    // the key is a digest of both, so the set never holds a password
    const key = encodeBase64(await sha256(`${user}\u0000${password}`));
    if (this.#verified.has(key)) return true;
    const check = this.#pbkdf2Queue.then(() => verifyPbkdf2(password, hash));
    this.#pbkdf2Queue = check.catch(() => {});
    const ok = await check;
    if (ok) {
      if (this.#verified.size >= MAX_VERIFIED) this.#verified.clear();
      this.#verified.add(key);
    }
    return ok;
  }

  async #bearer(token: string): Promise<boolean> {
    const digest = await sha256(token);
    let ok = false;
    for (const accepted of this.#tokens) ok = constantTimeEqual(digest, accepted) || ok;
    return ok;
  }
}

/**
 * Puts authentication in front of a request handler: a request without accepted
 * credentials gets the 401 of {@linkcode BrokerAuth.unauthorized} (its body is not read).
 *
 * @param handler the broker's router
 * @param auth the checker, or undefined for none
 * @returns the guarded handler (the handler itself without `auth`)
 */
export function requireAuth(
  handler: (request: Request) => Promise<Response>,
  auth: BrokerAuth | undefined,
): (request: Request) => Promise<Response> {
  if (auth === undefined) return handler;
  return async (request) => {
    if (await auth.authenticate(request.headers.get("authorization"))) {
      return await handler(request);
    }
    await request.body?.cancel().catch(() => {});
    return auth.unauthorized();
  };
}
