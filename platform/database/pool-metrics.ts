import { Gauge, type Registry } from "prom-client";

import type { Database } from "./database";

/** The database pool of one service: connections in use, idle, and callers waiting for one. */
export function registerPoolMetrics(registry: Registry, db: Database): void {
  new Gauge({
    name: "orion_db_pool_connections",
    help: "Database pool connections by state (used, free, pending: callers waiting)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const pool = (
        db.orm.em.getConnection().getKnex().client as {
          pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number };
        }
      ).pool;
      if (!pool) return;
      this.set({ state: "used" }, pool.numUsed());
      this.set({ state: "free" }, pool.numFree());
      this.set({ state: "pending" }, pool.numPendingAcquires());
    },
  });
}
