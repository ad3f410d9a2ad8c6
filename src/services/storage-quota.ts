import type { EntityManager } from "typeorm";
import { returnedRows } from "../db/raw-rows";
import { DomainError, DomainErrorReason } from "../domain/errors";

/** A user's solo snapshot storage (storageUsage). */
export interface StorageUsage {
  usedBytes: number;
  quotaBytes: number;
  remainingBytes: number;
}

/**
 * The solo storage quota (W1, SOLO_QUOTA_BYTES): bytes of solo snapshots counted per owner in
 * user_storage, charged in the transaction that stores them and given back by retention.
 */
export class StorageQuota {
  constructor(private readonly quotaBytes: number) {}

  /** Adds `bytes` to the owner's usage if it stays within the quota: check and increment in one statement. */
  async charge(tx: EntityManager, ownerId: string, bytes: number): Promise<void> {
    const quota = this.quotaBytes;
    const rows: unknown[] = await tx.query(
      `INSERT INTO user_storage AS u (user_id, used_bytes)
         SELECT $1::uuid, $2::bigint WHERE $2::bigint <= $3::bigint
       ON CONFLICT (user_id) DO UPDATE SET used_bytes = u.used_bytes + EXCLUDED.used_bytes
         WHERE u.used_bytes + EXCLUDED.used_bytes <= $3::bigint
       RETURNING used_bytes`,
      [ownerId, bytes, quota],
    );
    if (returnedRows(rows).length > 0) return;
    const usage = await this.usageOf(tx, ownerId);
    throw new DomainError(
      DomainErrorReason.QUOTA_EXCEEDED,
      `This snapshot needs ${bytes} bytes; ${usage.remainingBytes} of your ${usage.quotaBytes} bytes are left.`,
      { ...usage },
    );
  }

  /** The user's solo snapshot bytes and quota, read through `manager`. */
  async usageOf(manager: EntityManager, userId: string): Promise<StorageUsage> {
    const [row] = (await manager.query(`SELECT used_bytes FROM user_storage WHERE user_id = $1`, [userId])) as Array<{ used_bytes: string | number }>;
    const usedBytes = row ? Number(row.used_bytes) : 0;
    const quotaBytes = this.quotaBytes;
    return { usedBytes, quotaBytes, remainingBytes: Math.max(0, quotaBytes - usedBytes) };
  }

  /** Gives bytes back to their owners (retention deleted their snapshots), in the caller's transaction. */
  async giveBack(tx: EntityManager, freed: ReadonlyMap<string, number>): Promise<void> {
    for (const [owner, bytes] of freed) {
      await tx.query(`UPDATE user_storage SET used_bytes = GREATEST(used_bytes - $2, 0) WHERE user_id = $1`, [owner, bytes]);
    }
  }
}
