/**
 * Runs a command so that file modes apply to it. Tests here may run as root, whom a
 * `chmod`ed folder does not stop: as root the command is wrapped in `setpriv` with
 * `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH` dropped from its bounding set, so it stays
 * uid 0 (owner of the test's files, its Deno cache readable) but is refused what the modes
 * refuse, as any other user would be. As another user nothing is needed.
 *
 * @module
 */

/**
 * The words to put before a command so that file modes apply to it.
 *
 * @returns `[]` for a non-root user, the `setpriv` prefix for root, or `undefined` when root
 *   cannot drop the capabilities here (no `setpriv`, or not allowed)
 */
export async function withoutDacOverride(): Promise<string[] | undefined> {
  if (Deno.uid() !== 0) return [];
  const prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"];
  const dir = await Deno.makeTempDir({ prefix: "wikistream-dac-" });
  try {
    await Deno.chmod(dir, 0o555);
    // the probe must fail to write into the read-only folder
    const probe = await new Deno.Command(prefix[0]!, {
      args: [...prefix.slice(1), "sh", "-c", `: > '${dir}/probe'`],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    return probe !== undefined && probe.code !== 0 ? prefix : undefined;
  } finally {
    await Deno.chmod(dir, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
}
