import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { programArgs } from "../_helpers/program_command.ts";

Deno.test("startBroker names the port in use and says to stop the other process or set BROKER_PORT", async () => {
  const dir = await Deno.makeTempDir();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  try {
    await assert.rejects(
      startBroker({ dataDir: dir, port }),
      (e: unknown) =>
        e instanceof Deno.errors.AddrInUse &&
        e.message ===
          `Cannot start the broker: port ${port} on 127.0.0.1 is already in use; stop the other ` +
            "process or set BROKER_PORT to a free port (0 picks one)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("broker.ts exits 2 with one error line naming the port in use", async () => {
  const dir = await Deno.makeTempDir();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: programArgs("broker", [
        "--port",
        String(port),
        "--data-dir",
        dir,
        "--log-format=json",
      ]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.equal(
      stderr,
      `error: Cannot start the broker: port ${port} on 127.0.0.1 is already in use; stop the ` +
        "other process or set BROKER_PORT to a free port (0 picks one)\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
