/**
 * Turns the TLS errors of Deno's `fetch` (rustls under it) into one line that says what
 * failed and which variable fixes it: an unknown CA, a certificate for another name, an
 * expired certificate, a proxy that wants a client certificate or does not trust ours.
 *
 * @module
 */

/** What a TLS failure was, and what to do about it. */
export interface TlsFailure {
  /** What failed, for example `the proxy's certificate is signed by an unknown CA`. */
  what: string;
  /** What to do, naming the variables. */
  fix: string;
}

const RULES: readonly { test: RegExp; failure: (match: RegExpExecArray) => TlsFailure }[] = [
  {
    test: /invalid peer certificate: UnknownIssuer/,
    failure: () => ({
      what: "its certificate is signed by a CA this program does not trust",
      fix: "set KAFKA_REST_CA_FILE to the PEM file of the CA that signed it",
    }),
  },
  {
    test: /certificate not valid for name "([^"]*)"(?:; certificate is only valid for (.*))?/,
    failure: (m) => ({
      what: `its certificate is not valid for the name "${m[1]}"${
        m[2] ? ` (it names ${m[2].replace(/DnsName\("([^"]*)"\)/g, "$1")})` : ""
      }`,
      fix: "use a host name in KAFKA_REST_URL that the certificate names, or reissue it",
    }),
  },
  {
    test: /invalid peer certificate: Expired/,
    failure: () => ({
      what: "its certificate has expired (or this machine's clock is wrong)",
      fix: "renew the proxy's certificate, or check the clock",
    }),
  },
  {
    test: /invalid peer certificate: NotValidYet/,
    failure: () => ({
      what: "its certificate is not valid yet (or this machine's clock is wrong)",
      fix: "check the clock here and on the host that issued the certificate",
    }),
  },
  {
    test: /fatal alert: CertificateRequired|fatal alert: HandshakeFailure/,
    failure: () => ({
      what: "it requires a client certificate",
      fix: "set KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE to the client certificate and key",
    }),
  },
  {
    test: /fatal alert: (UnknownCA|BadCertificate|CertificateUnknown|AccessDenied)/,
    failure: (m) => ({
      what: `it refused our client certificate (${m[1]})`,
      fix: "set KAFKA_REST_CERT_FILE to a certificate signed by a CA the proxy trusts",
    }),
  },
  {
    test: /invalid peer certificate: (\w+)/,
    failure: (m) => ({
      what: `its certificate was refused (${m[1]})`,
      fix: "check the proxy's certificate and KAFKA_REST_CA_FILE",
    }),
  },
  {
    test: /InvalidContentType|corrupt message|received corrupt message/,
    failure: () => ({
      what: "it does not speak TLS on that port",
      fix: "use http:// in KAFKA_REST_URL, or the proxy's TLS port",
    }),
  },
];

function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    parts.push(e.message);
  }
  return parts.join(" | ");
}

/**
 * Recognizes a TLS failure in an error thrown by `fetch` (the message or any cause).
 *
 * @param error what `fetch` threw
 * @returns the failure, or `undefined` when the error is not about TLS
 */
export function tlsFailure(error: unknown): TlsFailure | undefined {
  const text = messages(error);
  for (const rule of RULES) {
    const match = rule.test.exec(text);
    if (match) return rule.failure(match);
  }
  return undefined;
}
