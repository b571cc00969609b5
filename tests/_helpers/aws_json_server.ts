/**
 * A local stand-in for AWS Systems Manager Parameter Store and Secrets Manager that speaks
 * their JSON 1.1 protocol (`POST /`, `X-Amz-Target: AmazonSSM.GetParameter` or
 * `secretsmanager.GetSecretValue`, `Content-Type: application/x-amz-json-1.1`), so tests drive
 * the real SDK clients. Errors have the service shape, `{"__type": "ParameterNotFound",
 * "message": …}` with HTTP 400. Every request is recorded; a request without a SigV4
 * `Authorization` header is refused with 403 (`MissingAuthenticationTokenException`).
 *
 * Point the SDK at it with `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or an
 * explicit endpoint) and any credentials; the signature itself is not verified.
 *
 * @module
 */

/** One request the server received. */
export interface AwsJsonRequest {
  /** The `X-Amz-Target` header, for example `AmazonSSM.GetParameter`. */
  target: string;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  /** The `Authorization` header. */
  authorization: string;
}

/** What the server holds and how it misbehaves. */
export interface AwsJsonServerOptions {
  /** Parameter Store parameters by name. @default {} */
  parameters?: Record<string, string>;
  /** Secrets Manager SecretStrings by name. @default {} */
  secrets?: Record<string, string>;
  /** Answer this many requests with ThrottlingException (HTTP 400) before serving. @default 0 */
  throttleFirst?: number;
}

/** A running server; `await using` shuts it down. */
export interface AwsJsonServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request received, in order. */
  requests: AwsJsonRequest[];
  /** Stops the server. */
  close(): Promise<void>;
}

const SIGV4_REGEXP = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/[^/]+\/aws4_request, /;

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/x-amz-json-1.1" },
  });
}

function error(type: string, message: string, status = 400): Response {
  return answer(status, { __type: type, message });
}

/**
 * Starts the server on 127.0.0.1 on a free port.
 *
 * @param options the parameters and secrets it holds
 * @returns the running server
 */
export function startAwsJsonServer(options: AwsJsonServerOptions = {}): AwsJsonServer {
  const parameters = options.parameters ?? {};
  const secrets = options.secrets ?? {};
  let throttle = options.throttleFirst ?? 0;
  const requests: AwsJsonRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const target = request.headers.get("x-amz-target") ?? "";
      const authorization = request.headers.get("authorization") ?? "";
      const text = await request.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text || "{}");
      } catch {
        return error("SerializationException", "the body is not JSON");
      }
      requests.push({ target, body, authorization });
      if (!SIGV4_REGEXP.test(authorization)) {
        return error("MissingAuthenticationTokenException", "Missing Authentication Token", 403);
      }
      if (!request.headers.get("content-type")?.startsWith("application/x-amz-json-1.1")) {
        return error("SerializationException", "expected application/x-amz-json-1.1");
      }
      if (throttle > 0) {
        throttle--;
        return error("ThrottlingException", "Rate exceeded");
      }
      if (target === "AmazonSSM.GetParameter") {
        const name = String(body.Name);
        const value = parameters[name];
        if (value === undefined) return error("ParameterNotFound", `Parameter ${name} not found.`);
        return answer(200, {
          Parameter: {
            Name: name,
            Type: body.WithDecryption === true ? "SecureString" : "String",
            Value: body.WithDecryption === true ? value : "(encrypted)",
            Version: 1,
            ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name}`,
            DataType: "text",
          },
        });
      }
      if (target === "secretsmanager.GetSecretValue") {
        const id = String(body.SecretId);
        const value = secrets[id];
        if (value === undefined) {
          return error(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
          );
        }
        return answer(200, {
          ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`,
          Name: id,
          VersionId: "00000000-0000-0000-0000-000000000001",
          SecretString: value,
          VersionStages: ["AWSCURRENT"],
        });
      }
      return error("UnknownOperationException", `unknown target "${target}"`);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const close = async () => {
    await server.shutdown();
  };
  return { url, requests, close, [Symbol.asyncDispose]: close };
}
