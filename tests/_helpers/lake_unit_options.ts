/**
 * Options shared by tests that build `LakeUnit`s directly: limits no test reaches, and the lake
 * layout under prefix `lake` for the default topic.
 *
 * @module
 */
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import type { UnitLimits } from "../../lib/lake/lake_writer.ts";

/** Limits that never seal a unit in a test. */
export const UNBOUNDED_LIMITS: UnitLimits = {
  maxRows: 1_000_000,
  maxFileBytes: 1 << 30,
  maxOpenFiles: 1000,
  maxBufferBytes: 1 << 30,
};

/** The layout of a lake under prefix `lake`, topic `wikimedia-changes`. */
export const TEST_LAYOUT: LakeLayout = new LakeLayout({
  prefix: "lake",
  topic: "wikimedia-changes",
});
