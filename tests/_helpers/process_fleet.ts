/**
 * Several processes of one kind (the consumers of one group, an HA pair of producers)
 * started through a {@linkcode PipelineHarness}, each a named {@linkcode FleetMember}
 * that chaos tests kill and restart under the same name, suspend (`SIGSTOP`) and resume,
 * stop gracefully (`SIGTERM`) to leave, or add. {@linkcode ProcessFleet.supervise}
 * restarts a member that exited on its own and records it, so a crash never ends the run
 * early; a member that keeps crashing is restarted with a growing delay (200 ms doubling
 * to 3 s, as a service manager would), so a crash loop does not starve the machine.
 * {@linkcode ProcessFleet.stopAll} stops every member with a deadline.
 *
 * @module
 */
import type { ManagedProcess } from "./pipeline_harness.ts";

/** One member: a name (kept across restarts) and its current process. */
export interface FleetMember {
  /** The member's name (a consumer's `CONSUMER_INSTANCE_ID`, a producer's role). */
  readonly name: string;
  /** The current process, if started. */
  process: ManagedProcess | undefined;
  /** Whether the process was sent `SIGSTOP` and not `SIGCONT` since. */
  suspended: boolean;
  /** False once the member left (stopped on purpose and not to be restarted). */
  active: boolean;
  /** Crashes since the test last started it on purpose. */
  crashes: number;
  /** When a crashed member may be restarted (ms since the epoch). */
  restartAt: number | undefined;
}

/** Options of {@linkcode ProcessFleet}. */
export interface ProcessFleetOptions {
  /** What the members are (`consumer`, `producer`), for notes and messages. */
  kind: string;
  /** Starts (or restarts) the process of a member. */
  start: (name: string) => Promise<ManagedProcess>;
  /** Records an event in the test's fault log. */
  note: (event: string, detail?: string) => void;
  /** Longest wait for a graceful stop before `SIGKILL`. @default 30000 */
  stopTimeoutMs?: number;
}

/** Named processes of one kind, with kill, suspend, leave, join and supervision. */
export class ProcessFleet {
  /** Every member ever added, in order (left members stay, inactive). */
  readonly members: FleetMember[] = [];
  /** One entry per process that exited without being asked to (with its output tail). */
  readonly unexpectedExits: string[] = [];
  /** One entry per graceful stop that did not end with exit code 0 in time. */
  readonly uncleanStops: string[] = [];
  #options: ProcessFleetOptions;

  /**
   * Creates an empty fleet.
   *
   * @param options how to start a member and where to note events
   */
  constructor(options: ProcessFleetOptions) {
    this.#options = options;
  }

  /** The members that have not left. */
  get active(): FleetMember[] {
    return this.members.filter((m) => m.active);
  }

  /**
   * Adds a member and starts its process.
   *
   * @param name the member's name
   * @returns the member
   */
  async add(name: string): Promise<FleetMember> {
    const member: FleetMember = {
      name,
      process: undefined,
      suspended: false,
      active: true,
      crashes: 0,
      restartAt: undefined,
    };
    this.members.push(member);
    member.process = await this.#options.start(name);
    return member;
  }

  /**
   * Starts a member's process again under the same name.
   *
   * @param member the member (its previous process has exited)
   */
  async restart(member: FleetMember): Promise<void> {
    member.crashes = 0;
    await this.#start(member);
  }

  async #start(member: FleetMember): Promise<void> {
    member.suspended = false;
    member.restartAt = undefined;
    member.process = await this.#options.start(member.name);
  }

  /**
   * Sends `SIGKILL` (also to a suspended process) and waits for the exit.
   *
   * @param member the member
   */
  async kill(member: FleetMember): Promise<void> {
    await member.process?.kill("SIGKILL");
    member.suspended = false;
  }

  /**
   * Sends `SIGSTOP`.
   *
   * @param member the member
   * @returns the process stopped, to resume only that one later
   */
  suspend(member: FleetMember): ManagedProcess | undefined {
    if (!member.process?.signal("SIGSTOP")) return undefined;
    member.suspended = true;
    return member.process;
  }

  /**
   * Sends `SIGCONT`, if `process` is still the member's process.
   *
   * @param member the member
   * @param process the process {@linkcode suspend} returned
   * @returns whether it was resumed
   */
  resume(member: FleetMember, process: ManagedProcess): boolean {
    if (member.process !== process || !member.suspended) return false;
    member.suspended = false;
    return process.signal("SIGCONT");
  }

  /**
   * Stops a member gracefully (`SIGTERM`, `SIGKILL` after the deadline) and marks it left.
   *
   * @param member the member
   * @returns the exit code
   */
  async leave(member: FleetMember): Promise<number> {
    member.active = false;
    return await this.#stop(member);
  }

  async #stop(member: FleetMember): Promise<number> {
    const p = member.process;
    if (!p || !p.running) return p?.exitStatus?.code ?? 0;
    if (member.suspended) {
      member.suspended = false;
      p.signal("SIGCONT");
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.#options.stopTimeoutMs ?? 30_000;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    try {
      const result = await Promise.race([p.kill("SIGTERM"), late]);
      if (result === "late") {
        this.uncleanStops.push(
          `${this.#options.kind} ${member.name} did not stop within ${timeoutMs} ms of SIGTERM` +
            ` (killed):\n${p.tail}`,
        );
        return (await p.kill("SIGKILL")).code;
      }
      if (result.code !== 0) {
        this.uncleanStops.push(
          `${this.#options.kind} ${member.name} exited with code ${result.code} after SIGTERM:\n` +
            p.tail,
        );
      }
      return result.code;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops every active member gracefully, all at once.
   *
   * @returns the exit code of each, by name
   */
  async stopAll(): Promise<Record<string, number>> {
    const active = this.active;
    const codes = await Promise.all(active.map((m) => this.#stop(m)));
    return Object.fromEntries(active.map((m, i) => [m.name, codes[i]!]));
  }

  /** Whether every active member runs and is not suspended. */
  get allUp(): boolean {
    return this.active.every((m) => m.process?.running && !m.suspended);
  }

  /**
   * Records each active member whose process exited without being asked to, and restarts
   * it once its delay has passed.
   */
  async supervise(): Promise<void> {
    for (const m of this.active) {
      const p = m.process;
      if (!p || p.running || p.stopRequested) continue;
      if (m.restartAt === undefined) {
        const code = p.exitStatus!.code;
        const delay = Math.min(200 * 2 ** m.crashes, 3000);
        m.crashes++;
        m.restartAt = Date.now() + delay;
        this.unexpectedExits.push(
          `${this.#options.kind} ${m.name} exited with code ${code}:\n${p.tail}`,
        );
        this.#options.note(
          `unexpected-exit-${this.#options.kind}`,
          `${m.name} code=${code} (crash ${m.crashes}, restart in ${delay} ms)`,
        );
      }
      if (Date.now() >= m.restartAt) await this.#start(m);
    }
  }
}
