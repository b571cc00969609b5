/**
 * Consumer groups of the local broker: instance registry, lazy rebalancing with the
 * range assignor (on the next read after a member joins, leaves, expires or changes its
 * subscription, or after a topic is created), auto-commit on revocation and close, and
 * idle expiry after `consumer.instance.timeout.ms`. The instances of a group and of the
 * broker are bounded; creating one more answers 429 (42901) until one leaves or expires.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { BrokerError } from "./broker_error.ts";
import {
  ConsumerInstance,
  type InstanceConfig,
  type InstanceContext,
  partitionKey,
} from "./consumer_instance.ts";
import type { DataNotifier } from "./data_notifier.ts";
import type { OffsetStore } from "./offset_store.ts";
import { rangeAssign } from "./range_assignor.ts";
import type { TopicStore } from "./topic_store.ts";

/** Options for {@linkcode ConsumerGroups}. */
export interface ConsumerGroupsOptions {
  /** Topics and logs. */
  topics: TopicStore;
  /** Committed offsets. */
  offsets: OffsetStore;
  /** Wakes reads on append. */
  notifier: DataNotifier;
  /** Idle time after which an instance is destroyed. */
  instanceTimeoutMs: number;
  /** Most live instances of the broker. @default no limit */
  maxInstances?: number;
  /** Most live instances of one group. @default no limit */
  maxInstancesPerGroup?: number;
  /** Logger. */
  log?: Logger;
  /** Current time in ms. @default Date.now */
  now?: () => number;
}

interface Group {
  name: string;
  members: Map<string, ConsumerInstance>;
  dirty: boolean;
  topicsVersion: number;
  rebalancing: Promise<void> | undefined;
}

/** All consumer groups and their instances. */
export class ConsumerGroups {
  readonly #options: ConsumerGroupsOptions;
  readonly #groups = new Map<string, Group>();
  readonly #now: () => number;

  /**
   * Creates a `ConsumerGroups`.
   *
   * @param options stores, notifier, expiry and clock
   */
  constructor(options: ConsumerGroupsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  #group(name: string): Group {
    let g = this.#groups.get(name);
    if (!g) {
      g = { name, members: new Map(), dirty: false, topicsVersion: -1, rebalancing: undefined };
      this.#groups.set(name, g);
    }
    return g;
  }

  /**
   * Creates an instance.
   *
   * @param group the group
   * @param id the instance id
   * @param config the settings
   * @returns the instance
   * @throws {BrokerError} 40902 when the id is taken in the group, 42901 at a limit
   */
  create(group: string, id: string, config: InstanceConfig): ConsumerInstance {
    if (this.#groups.get(group)?.members.has(id)) {
      throw new BrokerError(
        409,
        40902,
        "Consumer with specified consumer ID already exists in the specified consumer group.",
      );
    }
    this.#checkLimits(group);
    const g = this.#group(group);
    const ctx: InstanceContext = {
      topics: this.#options.topics,
      offsets: this.#options.offsets,
      notifier: this.#options.notifier,
      ensureAssignment: () => this.#ensureAssignment(g),
      now: this.#now,
    };
    const instance = new ConsumerInstance(group, id, config, ctx);
    g.members.set(id, instance);
    this.#options.log?.debug("consumer instance created", { group, instance: id });
    return instance;
  }

  #checkLimits(group: string): void {
    const perGroup = this.#options.maxInstancesPerGroup ?? Infinity;
    const inGroup = this.#groups.get(group)?.members.size ?? 0;
    if (inGroup >= perGroup) {
      throw new BrokerError(
        429,
        42901,
        `Cannot create a consumer instance in group "${group}": it has ${inGroup} instances, ` +
          `the limit (BROKER_MAX_INSTANCES_PER_GROUP) is ${perGroup}; delete one or wait for ` +
          "an idle one to expire",
        { refusal: "group_instances", retryAfterS: 1 },
      );
    }
    const total = this.#options.maxInstances ?? Infinity;
    const live = this.size;
    if (live >= total) {
      throw new BrokerError(
        429,
        42901,
        `Cannot create a consumer instance: the broker has ${live} instances, the limit ` +
          `(BROKER_MAX_INSTANCES) is ${total}; delete one or wait for an idle one to expire`,
        { refusal: "instances", retryAfterS: 1 },
      );
    }
  }

  /**
   * Finds a live instance and refreshes its idle deadline.
   *
   * @param group the group
   * @param id the instance id
   * @returns the instance
   * @throws {BrokerError} 40403 when unknown or expired
   */
  get(group: string, id: string): ConsumerInstance {
    const instance = this.#groups.get(group)?.members.get(id);
    if (!instance || instance.closed) {
      throw new BrokerError(404, 40403, "Consumer instance not found.");
    }
    instance.lastUsed = this.#now();
    return instance;
  }

  /**
   * Marks the group for a rebalance at its next read (membership or subscription changed).
   *
   * @param group the group
   */
  invalidate(group: string): void {
    this.#group(group).dirty = true;
  }

  /**
   * Removes an instance: auto-commits its positions (if enabled) and leaves the group.
   *
   * @param instance the instance
   * @param reason for the log
   */
  async close(instance: ConsumerInstance, reason: string): Promise<void> {
    const g = this.#groups.get(instance.group);
    if (!g || g.members.get(instance.id) !== instance) return;
    g.members.delete(instance.id);
    g.dirty = true;
    instance.markClosed();
    this.#options.log?.debug("consumer instance closed", {
      group: instance.group,
      instance: instance.id,
      reason,
    });
    await instance.exclusive(async () => {
      if (instance.config.autoCommit) {
        await this.#options.offsets.commit(instance.group, instance.positionsToCommit());
      }
    });
    if (g.members.size === 0 && !g.rebalancing) this.#groups.delete(g.name);
  }

  /**
   * Closes instances idle longer than the instance timeout.
   *
   * @returns how many were expired
   */
  async expireIdle(): Promise<number> {
    const limit = this.#now() - this.#options.instanceTimeoutMs;
    const idle: ConsumerInstance[] = [];
    for (const g of this.#groups.values()) {
      for (const m of g.members.values()) if (m.lastUsed < limit) idle.push(m);
    }
    for (const m of idle) await this.close(m, "expired");
    return idle.length;
  }

  /**
   * Closes every instance now (the `/_admin/expire-instances` chaos action and shutdown).
   *
   * @returns how many were closed
   */
  async expireAll(): Promise<number> {
    const all: ConsumerInstance[] = [];
    for (const g of this.#groups.values()) all.push(...g.members.values());
    for (const m of all) await this.close(m, "expired by request");
    return all.length;
  }

  /** Number of live instances. */
  get size(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.members.size;
    return n;
  }

  #ensureAssignment(g: Group): Promise<void> {
    if (g.rebalancing) return g.rebalancing;
    if (!g.dirty && g.topicsVersion === this.#options.topics.version) return Promise.resolve();
    g.rebalancing = this.#rebalance(g).finally(() => {
      g.rebalancing = undefined;
    });
    return g.rebalancing;
  }

  async #rebalance(g: Group): Promise<void> {
    g.dirty = false;
    g.topicsVersion = this.#options.topics.version;
    const topics = this.#options.topics;
    const names = topics.names();
    const members = [...g.members.values()].filter((m) => m.subscription && !m.manual);
    const plan = rangeAssign(
      members.map((m) => {
        const s = m.subscription!;
        const wanted = "topics" in s
          ? s.topics.filter((t) => topics.get(t))
          : names.filter((t) => s.pattern.test(t));
        return { id: m.id, topics: wanted };
      }),
      (t) => topics.get(t)?.partitions.length ?? 0,
    );
    // revoked partitions are committed (auto-commit members) before anyone starts on them
    const revokedCommits = [];
    for (const m of members) {
      if (!m.config.autoCommit) continue;
      const keep = new Set(plan.get(m.id)!.map(([t, p]) => partitionKey(t, p)));
      const revoked = new Set(
        m.assignment.map((a) => partitionKey(a.topic, a.partition)).filter((k) => !keep.has(k)),
      );
      if (revoked.size > 0) revokedCommits.push(...m.positionsToCommit(revoked));
    }
    await this.#options.offsets.commit(g.name, revokedCommits);
    for (const m of members) m.setAssignment(plan.get(m.id)!);
    this.#options.log?.debug("group rebalanced", {
      group: g.name,
      members: members.map((m) => `${m.id}:${m.assignment.length}`),
    });
  }
}
