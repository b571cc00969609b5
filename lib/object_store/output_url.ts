/**
 * Parses `OUTPUT_URL`: `s3://bucket/prefix`, `file:///abs/path` or a plain
 * (relative or absolute) folder path.
 *
 * @module
 */

/** Where the lake lives. */
export type OutputLocation =
  | { kind: "s3"; bucket: string; prefix: string }
  | { kind: "file"; path: string };

/**
 * Parses an output location.
 *
 * @param raw `s3://bucket[/prefix]`, `file:///abs/path` or a folder path
 * @returns the location; for files a normalized path (relative paths stay relative)
 * @throws {TypeError} for other schemes, a missing bucket or an empty path
 */
export function parseOutputUrl(raw: string): OutputLocation {
  const text = raw.trim();
  if (text === "") throw new TypeError("an s3://bucket/prefix URL, a file:// URL or a folder path");
  if (/^s3:\/\//i.test(text)) {
    const rest = text.slice(5);
    const slash = rest.indexOf("/");
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (bucket.includes("@")) {
      // never echo what stands before the "@": it is a credential
      throw new TypeError(
        "an s3://bucket/prefix URL without credentials (the AWS SDK reads them from " +
          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws)",
      );
    }
    const prefix = slash === -1 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new TypeError(`an s3://bucket/prefix URL with a valid bucket name (got "${bucket}")`);
    }
    if (prefix.split("/").some((s) => s === "." || s === "..")) {
      throw new TypeError("an s3:// URL whose prefix has no . or .. segments");
    }
    return { kind: "s3", bucket, prefix };
  }
  if (/^file:/i.test(text)) {
    let path: string;
    try {
      path = decodeURIComponent(new URL(text).pathname);
    } catch {
      throw new TypeError("a file:///absolute/path URL");
    }
    return { kind: "file", path: normalize(path) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new TypeError("an s3:// URL, a file:// URL or a folder path");
  }
  return { kind: "file", path: normalize(text) };
}

function normalize(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && out.length > 0 && out.at(-1) !== "..") out.pop();
    else if (seg !== ".." || !absolute) out.push(seg);
  }
  const joined = out.join("/");
  return absolute ? "/" + joined : joined || ".";
}

/**
 * Renders a location back as a URL for logs.
 *
 * @param location the parsed location
 * @returns `s3://bucket/prefix` or `file:///path`
 */
export function formatOutputLocation(location: OutputLocation): string {
  return location.kind === "s3"
    ? `s3://${location.bucket}${location.prefix ? "/" + location.prefix : ""}`
    : location.path.startsWith("/")
    ? `file://${location.path}`
    : location.path;
}
