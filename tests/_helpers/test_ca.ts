/**
 * A certificate authority made at test time with `openssl`: a CA certificate and
 * a server certificate for `localhost` and `127.0.0.1` signed by it, in a
 * temporary folder, for tests that need real TLS with a private CA.
 *
 * @module
 */

/** The files of a test CA. */
export interface TestCa extends AsyncDisposable {
  /** Folder holding the files. */
  dir: string;
  /** CA certificate (PEM), what clients must trust. */
  caFile: string;
  /** Server certificate (PEM) for localhost and 127.0.0.1. */
  certFile: string;
  /** Server private key (PEM). */
  keyFile: string;
  /** Removes the folder. */
  close(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Makes a CA and a localhost server certificate.
 *
 * @returns the files
 */
export async function makeTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-ca-" });
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=wikistream test CA",
  ]);
  await openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  const close = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
