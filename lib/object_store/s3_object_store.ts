/**
 * An {@linkcode ObjectStore} on Amazon S3 or an S3-compatible server (MinIO,
 * s3rver) through `@aws-sdk/client-s3`. Credentials come from the SDK's default
 * chain (environment, shared config/credentials files, web identity, instance
 * role) unless given. Network errors, throttling and 5xx answers are retried with
 * {@linkcode Backoff}; a missing bucket or refused credentials fail at once with
 * a message that says what to fix. `create` is a conditional PutObject
 * (`If-None-Match: *`), which AWS S3 honours; some S3-compatible servers ignore it
 * (check with `probeConditionalCreate`).
 *
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Agent as HttpsAgent } from "node:https";
import { Backoff } from "../cli/backoff.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import { redactUrl, redactUrlsInText } from "../cli/redact_url.ts";
import {
  type ListOptions,
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
  type StoreCallOptions,
} from "./object_store.ts";

/** Options for {@linkcode S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** The bucket. */
  bucket: string;
  /** AWS region. @default "us-east-1" */
  region?: string;
  /** Endpoint for S3-compatible servers (`http://localhost:9000`). @default AWS */
  endpoint?: string;
  /** Path-style addressing (MinIO, s3rver). @default false */
  forcePathStyle?: boolean;
  /**
   * PEM text of the CA certificates trusted for the endpoint's TLS (`AWS_CA_BUNDLE`);
   * replaces the default roots, as the AWS CLI does. @default the system's roots
   */
  caBundle?: string;
  /** Fixed credentials; the SDK's default chain when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call for retriable failures. @default 5 */
  maxAttempts?: number;
  /** Backoff between attempts. @default 200 ms doubling to 10 s */
  backoff?: Backoff;
  /** Where retries are logged. */
  log?: Logger;
  /** Clock for sleeping between attempts. @default SYSTEM_CLOCK */
  clock?: Clock;
}

interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as AwsError)?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string {
  const e = error as AwsError;
  return e?.name ?? e?.Code ?? "Error";
}

const CREDENTIAL_ERRORS = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "CredentialsProviderError",
]);

/** 409 answers to a conditional write that a retry resolves (S3 names both). */
const CONDITIONAL_CONFLICTS = new Set(["ConditionalRequestConflict", "OperationAborted"]);

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its certificate is signed by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its certificate is signed by an unknown CA",
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate chain holds an untrusted self-signed CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its certificate is self-signed",
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate does not name this host",
};

const TLS_MESSAGES: [RegExp, string][] = [
  [
    /unable to verify the first certificate|unknown ?issuer|UnknownIssuer|unable to get local issuer/i,
    "its certificate is signed by an unknown CA",
  ],
  [/self[- ]signed/i, "its certificate is self-signed or signed by an untrusted CA"],
  [/expired/i, "its certificate has expired"],
  [
    /altnames|does not match|NotValidForName|name mismatch/i,
    "its certificate does not name this host",
  ],
  [/certificate|InvalidCertificate/i, "its certificate was refused"],
];

/**
 * Recognizes a refused TLS certificate in an SDK error (Node's codes or the message).
 *
 * @param error the error
 * @returns what is wrong with the certificate, or `undefined` for other errors
 */
export function tlsProblem(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code in TLS_CODES) return `${TLS_CODES[code]} (${e.message})`;
    for (const [pattern, problem] of TLS_MESSAGES) {
      if (pattern.test(e.message)) return `${problem} (${e.message})`;
    }
    e = e.cause;
  }
  return undefined;
}

/** Stores objects in one S3 bucket. */
export class S3ObjectStore implements ObjectStore {
  #client: S3Client;
  #endpoint: string;
  #bucket: string;
  #maxAttempts: number;
  #backoff: Backoff;
  #log: Logger | undefined;
  #clock: Clock;
  readonly description: string;

  /**
   * Creates an instance.
   *
   * @param options bucket, endpoint, credentials and retry policy
   */
  constructor(options: S3ObjectStoreOptions) {
    const config: S3ClientConfig = {
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: 1,
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    if (options.caBundle !== undefined) {
      // keep-alive and socket limit as the SDK's own default agent
      config.requestHandler = {
        httpsAgent: new HttpsAgent({ ca: options.caBundle, keepAlive: true, maxSockets: 50 }),
      };
    }
    // shown in messages only: without the userinfo an S3_ENDPOINT might carry
    this.#endpoint = redactUrl(options.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
    this.#client = new S3Client(config);
    this.#bucket = options.bucket;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#backoff = options.backoff ?? new Backoff({ initialMs: 200, maxMs: 10_000 });
    this.#log = options.log;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.description = `s3://${options.bucket}${options.endpoint ? ` at ${this.#endpoint}` : ""}`;
  }

  #classify(what: string, error: unknown): ObjectStoreError {
    const name = nameOf(error);
    const status = statusOf(error);
    const detail = redactUrlsInText((error as AwsError)?.message ?? String(error));
    if (error instanceof Deno.errors.NotCapable) {
      return new ObjectStoreError(
        `${what}: the AWS SDK was refused a permission (${detail}); run with the consume ` +
          "task's permissions or add the named one",
        false,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      // the operating system, not Deno, refused a file (a credentials or CA file): fixable
      return new ObjectStoreError(
        `${what}: the operating system refused the AWS SDK a file (${detail}); check its ` +
          "owner and mode",
        true,
        { cause: error },
      );
    }
    const tls = tlsProblem(error);
    if (tls !== undefined) {
      return new ObjectStoreError(
        `${what}: the TLS connection to ${this.#endpoint} failed: ${tls}; if the endpoint ` +
          "uses a private CA, set AWS_CA_BUNDLE to that CA's PEM file, otherwise fix S3_ENDPOINT",
        false,
        { cause: error },
      );
    }
    if (name === "NoSuchBucket") {
      return new ObjectStoreError(
        `${what}: bucket "${this.#bucket}" does not exist; create it or fix OUTPUT_URL` +
          " (and S3_ENDPOINT for S3-compatible servers)",
        false,
        { cause: error },
      );
    }
    if (CREDENTIAL_ERRORS.has(name) || status === 403 || status === 401) {
      return new ObjectStoreError(
        `${what}: access refused (${name}: ${detail}); check AWS_ACCESS_KEY_ID/` +
          "AWS_SECRET_ACCESS_KEY or AWS_PROFILE and the bucket policy",
        false,
        { cause: error },
      );
    }
    const retriable = status === undefined || status >= 500 || status === 429 ||
      name === "SlowDown" || name === "TimeoutError" || name === "RequestTimeout";
    return new ObjectStoreError(
      `${what}: ${name}${status ? ` (HTTP ${status})` : ""}: ${detail}`,
      retriable,
      { cause: error },
    );
  }

  async #retry<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      signal?.throwIfAborted();
      try {
        const result = await fn();
        this.#backoff.reset();
        return result;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const failure = error instanceof ObjectStoreError ? error : this.#classify(what, error);
        if (!failure.retriable || attempt >= this.#maxAttempts) throw failure;
        const wait = this.#backoff.next();
        this.#log?.warn("S3 call failed: retrying", {
          what,
          attempt,
          waitMs: wait,
          error: failure,
        });
        await this.#clock.sleep(wait, signal);
      }
    }
  }

  #putObject(key: string, bytes: Uint8Array, options: PutOptions, ifNoneMatch?: "*") {
    return this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: bytes,
        ContentType: options.contentType ?? "application/octet-stream",
        ContentLength: bytes.length,
        ...(ifNoneMatch === undefined ? {} : { IfNoneMatch: ifNoneMatch }),
      }),
      { abortSignal: options.signal },
    );
  }

  /** Uploads the object with PutObject. */
  put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<void> {
    return this.#retry(`Cannot upload s3://${this.#bucket}/${key}`, options.signal, async () => {
      await this.#putObject(key, bytes, options);
    });
  }

  /**
   * Uploads the object with PutObject and `If-None-Match: *`: S3 writes it only when the
   * key is free and answers 412 PreconditionFailed ("exists") otherwise. A 409
   * ConditionalRequestConflict (another conditional upload of the key was in flight) is a
   * retriable failure, retried here like a 5xx; the retry then sees 412 or succeeds. When a
   * response is lost and the upload retried, the retry can answer "exists" for an object
   * this call wrote: callers that fence with it should put something of their own in the
   * bytes and compare on "exists".
   */
  create(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<"created" | "exists"> {
    const what = `Cannot create s3://${this.#bucket}/${key}`;
    return this.#retry(what, options.signal, async () => {
      try {
        await this.#putObject(key, bytes, options, "*");
        return "created";
      } catch (error) {
        if (nameOf(error) === "PreconditionFailed" || statusOf(error) === 412) return "exists";
        if (CONDITIONAL_CONFLICTS.has(nameOf(error))) {
          throw new ObjectStoreError(
            `${what}: ${nameOf(error)} (HTTP ${statusOf(error) ?? 409}): another conditional ` +
              "upload of this key was in progress; retry to learn whether it created the object",
            true,
            { cause: error },
          );
        }
        throw error;
      }
    });
  }

  /** Downloads the object, or `undefined` for NoSuchKey. */
  get(key: string, options: StoreCallOptions = {}): Promise<Uint8Array | undefined> {
    return this.#retry(`Cannot download s3://${this.#bucket}/${key}`, options.signal, async () => {
      try {
        const out = await this.#client.send(
          new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
          { abortSignal: options.signal },
        );
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (nameOf(error) === "NoSuchKey" || statusOf(error) === 404) {
          if (nameOf(error) === "NoSuchBucket") throw error;
          return undefined;
        }
        throw error;
      }
    });
  }

  /** HEADs the object. */
  exists(key: string, options: StoreCallOptions = {}): Promise<boolean> {
    return this.#retry(`Cannot check s3://${this.#bucket}/${key}`, options.signal, async () => {
      try {
        await this.#client.send(
          new HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
          { abortSignal: options.signal },
        );
        return true;
      } catch (error) {
        if (nameOf(error) === "NotFound" || nameOf(error) === "NoSuchKey") return false;
        throw error;
      }
    });
  }

  /** Lists keys with ListObjectsV2, following continuation tokens. */
  async list(prefix: string, options: ListOptions = {}): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#retry(
        `Cannot list s3://${this.#bucket}/${prefix}`,
        options.signal,
        () =>
          this.#client.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: prefix,
              StartAfter: token === undefined ? options.startAfter : undefined,
              ContinuationToken: token,
            }),
            { abortSignal: options.signal },
          ),
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /** Deletes the object. */
  delete(key: string, options: StoreCallOptions = {}): Promise<void> {
    return this.#retry(`Cannot delete s3://${this.#bucket}/${key}`, options.signal, async () => {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }),
        { abortSignal: options.signal },
      );
    });
  }

  /** Releases the HTTP connections. */
  close(): void {
    this.#client.destroy();
  }
}
