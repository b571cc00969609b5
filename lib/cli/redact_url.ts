/**
 * Removes credentials from URLs before they are logged, printed or put in an error message:
 * the userinfo (`http://user:password@host`) and the values of query (and fragment)
 * parameters whose names look like credentials (`token`, `access_token`, `api_key`, `key`,
 * `secret`, `password`, `signature`, `sig`, `auth…`, `session…`, `X-Amz-*`, …).
 * {@linkcode redactUrl} does one URL, {@linkcode redactUrlsInText} every URL inside a text
 * (an error message that quotes one). The URLs the programs use are not changed, only what
 * they show of them.
 *
 * @module
 */

/** What replaces a removed userinfo or parameter value. */
export const REDACTED = "<redacted>";

const CREDENTIAL_PARAM_REGEXP =
  /token|secret|passw|^pass$|^pwd$|signature|^sig$|credential|auth|session|key|^x-amz-|^x-goog-/i;
/** A URL inside a text: a scheme, `//`, then anything up to white space or a quote. */
const URL_IN_TEXT_REGEXP = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;
/** Characters that end a sentence or close a bracket after a URL rather than belong to it. */
const TRAILING_REGEXP = /[).,;:!?\]}]+$/;
/** `scheme://userinfo@`: the userinfo runs to the last `@` before the path, query or fragment. */
const USERINFO_REGEXP = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;
/** One `name=value` of a query or fragment. */
const PARAM_REGEXP = /([?&;#])([^=&;#]+)=([^&;#]*)/g;

/**
 * Says whether a query parameter's name looks like it carries a credential.
 *
 * @param name the parameter name (percent-encoded or not)
 * @returns true for `token`, `api_key`, `X-Amz-Signature`, `password` and the like
 */
export function isCredentialParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    // a malformed escape: match the raw name
  }
  return CREDENTIAL_PARAM_REGEXP.test(decoded);
}

function redactText(url: string): string {
  let out = url.replace(USERINFO_REGEXP, `$1${REDACTED}@`);
  const q = out.search(/[?#]/);
  if (q !== -1) {
    out = out.slice(0, q) +
      out.slice(q).replace(
        PARAM_REGEXP,
        (whole, sep: string, name: string) =>
          isCredentialParam(name) ? `${sep}${name}=${REDACTED}` : whole,
      );
  }
  return out;
}

/**
 * Renders a URL without its credentials.
 *
 * @param url the URL (or URL text, parsable or not)
 * @returns the URL text with the userinfo and credential-looking parameter values replaced
 *   by {@linkcode REDACTED}
 * @example Usage
 * ```ts
 * import { redactUrl } from "./redact_url.ts";
 * redactUrl(new URL("http://user:pw@proxy:8082/?token=abc&since=1"));
 * // "http://<redacted>@proxy:8082/?token=<redacted>&since=1"
 * ```
 */
export function redactUrl(url: URL | string): string {
  return redactText(url instanceof URL ? url.href : url);
}

/**
 * Removes credentials from every URL inside a text (an error message, a log line).
 *
 * @param text any text
 * @returns the text with each URL passed through {@linkcode redactUrl}
 * @example Usage
 * ```ts
 * import { redactUrlsInText } from "./redact_url.ts";
 * redactUrlsInText('Cannot reach "http://u:p@host/": refused');
 * // 'Cannot reach "http://<redacted>@host/": refused'
 * ```
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes("://")) return text;
  return text.replace(URL_IN_TEXT_REGEXP, (match) => {
    const trailing = TRAILING_REGEXP.exec(match)?.[0] ?? "";
    return redactText(match.slice(0, match.length - trailing.length)) + trailing;
  });
}
