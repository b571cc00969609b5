/**
 * Kafka's range assignor: for each topic, the members subscribed to it (sorted by id)
 * get contiguous ranges of partitions, the first `partitions % members` one extra.
 *
 * @module
 */

/** One member's subscription as seen by the assignor. */
export interface AssignorMember {
  /** Member (instance) id. */
  id: string;
  /** Topics the member subscribes to (existing topics only). */
  topics: readonly string[];
}

/**
 * Assigns partitions to members.
 *
 * @param members the subscribed members
 * @param partitionCount partition count per topic
 * @returns member id → list of `[topic, partition]`
 */
export function rangeAssign(
  members: readonly AssignorMember[],
  partitionCount: (topic: string) => number,
): Map<string, [string, number][]> {
  const out = new Map<string, [string, number][]>();
  for (const m of members) out.set(m.id, []);
  const byTopic = new Map<string, string[]>();
  for (const m of members) {
    for (const t of m.topics) {
      let list = byTopic.get(t);
      if (!list) byTopic.set(t, list = []);
      list.push(m.id);
    }
  }
  for (const [topic, ids] of byTopic) {
    ids.sort();
    const n = partitionCount(topic);
    const per = Math.floor(n / ids.length);
    const extra = n % ids.length;
    let next = 0;
    ids.forEach((id, i) => {
      const take = per + (i < extra ? 1 : 0);
      for (let k = 0; k < take; k++) out.get(id)!.push([topic, next++]);
    });
  }
  return out;
}
