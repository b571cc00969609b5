/**
 * Reading the lake's Parquet data files back, the one reader of `lake/`: the commit
 * protocol's {@linkcode readEventIds} (recovery rebuilds the duplicate list of a unit)
 * and the verifier's {@linkcode readParquetRows}.
 *
 * @module
 */
import { tableFromIPC } from "apache-arrow";
import { ParquetFile, readParquet } from "parquet-wasm";

/** The columns of one data file the verifier needs. */
export interface FileRows {
  /** `event_id` per row. */
  eventIds: string[];
  /** `kafka_partition` per row. */
  partitions: number[];
  /** `kafka_offset` per row. */
  offsets: number[];
}

/**
 * Decodes only the `event_id` column of a Parquet data file. (`readParquet`'s `columns`
 * option is ignored by parquet-wasm 0.8 and decodes every column; `ParquetFile.read`
 * applies it.)
 *
 * @param bytes the file
 * @returns the event ids in file order
 */
export async function readEventIds(bytes: Uint8Array): Promise<string[]> {
  const file = await ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  try {
    const table = tableFromIPC((await file.read({ columns: ["event_id"] })).intoIPCStream());
    const column = table.getChild("event_id");
    const ids: string[] = [];
    if (column) { for (const id of column) ids.push(id as string); }
    return ids;
  } finally {
    file.free();
  }
}

/**
 * Reads the `event_id`, `kafka_partition` and `kafka_offset` columns with parquet-wasm.
 *
 * @param bytes a Parquet file
 * @returns the columns
 * @throws {Error} when the bytes are not Parquet or a column is missing
 */
export function readParquetRows(bytes: Uint8Array): FileRows {
  const table = tableFromIPC(
    readParquet(bytes, { columns: ["event_id", "kafka_partition", "kafka_offset"] })
      .intoIPCStream(),
  );
  const column = (name: string) => {
    const c = table.getChild(name);
    if (!c) throw new Error(`column "${name}" is missing`);
    return c;
  };
  const ids = column("event_id");
  const partitions = column("kafka_partition");
  const offsets = column("kafka_offset");
  const out: FileRows = { eventIds: [], partitions: [], offsets: [] };
  for (let i = 0; i < table.numRows; i++) {
    out.eventIds.push(String(ids.get(i)));
    out.partitions.push(Number(partitions.get(i)));
    out.offsets.push(Number(offsets.get(i)));
  }
  return out;
}
