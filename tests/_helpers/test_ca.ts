/**
 * A certificate authority made at test time with `openssl`: a CA certificate and
 * a server certificate for `localhost` and `127.0.0.1` signed by it, in a
 * temporary folder, for tests that need real TLS with a private CA; and client
 * certificates signed by the same CA ({@linkcode makeClientCert}) for mutual TLS
 * against a peer that verifies them (`openssl s_server -Verify 1 -CAfile …`).
 * Nothing here is committed: every key is made when the test runs.
 *
 * @module
 */

/** The files of a test CA. */
export interface TestCa extends AsyncDisposable {
  /** Folder holding the files. */
  dir: string;
  /** CA certificate (PEM), what clients must trust. */
  caFile: string;
  /** CA private key (PEM), to sign more certificates. */
  caKeyFile: string;
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
    caKeyFile: `${dir}/ca.key`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A client certificate of a {@linkcode TestCa}. */
export interface ClientCert {
  /** Client certificate (PEM), `extendedKeyUsage=clientAuth`. */
  certFile: string;
  /** Its private key (PEM). */
  keyFile: string;
}

/**
 * Makes a client certificate signed by the CA (in the CA's folder, removed with it).
 *
 * @param ca the CA from {@linkcode makeTestCa}
 * @param name the certificate's common name, also its file names (letters, digits, `-`)
 * @returns the files
 * @throws {Error} when openssl fails or the name has other characters
 */
export async function makeClientCert(ca: TestCa, name = "client"): Promise<ClientCert> {
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw new Error(`Cannot make a client certificate: bad name "${name}"`);
  }
  await openssl(ca.dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await Deno.writeTextFile(`${ca.dir}/${name}.cnf`, "extendedKeyUsage=clientAuth\n");
  await openssl(ca.dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.cnf`,
  ]);
  return { certFile: `${ca.dir}/${name}.pem`, keyFile: `${ca.dir}/${name}.key` };
}
