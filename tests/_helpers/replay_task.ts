/**
 * {@linkcode spawnReplayTask}: starts `deno task replay` (the task's own command and
 * permissions) and waits for its ready line.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

/**
 * Starts `deno task replay <args>` in the repository and waits until it serves.
 *
 * @param args the task's arguments (options and files)
 * @returns the stream URL and the running task
 * @throws {Error} with what it printed when it exits before serving
 */
export async function spawnReplayTask(
  args: string[],
): Promise<{ url: URL; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "replay", ...args],
    cwd: ROOT.pathname,
    env: { LOG_FORMAT: "json", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`replay did not start: ${text}`);
    text += value;
    const match = /wikistream replay serving \d+ events on (\S+)/.exec(text);
    if (match) {
      reader.releaseLock();
      child.stdout.cancel().catch(() => {});
      return { url: new URL(match[1]!), child };
    }
  }
}
