-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_RunPartition" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "rangeField" TEXT NOT NULL,
    "rangeFrom" TEXT,
    "rangeTo" TEXT,
    "attempt" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'RUNNING',
    "workerId" TEXT,
    "queuedAt" DATETIME,
    "heartbeatAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "result" TEXT,
    CONSTRAINT "RunPartition_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_RunPartition" ("attempt", "finishedAt", "heartbeatAt", "id", "index", "rangeField", "rangeFrom", "rangeTo", "result", "runId", "startedAt", "status", "workerId") SELECT "attempt", "finishedAt", "heartbeatAt", "id", "index", "rangeField", "rangeFrom", "rangeTo", "result", "runId", "startedAt", "status", "workerId" FROM "RunPartition";
DROP TABLE "RunPartition";
ALTER TABLE "new_RunPartition" RENAME TO "RunPartition";
CREATE INDEX "RunPartition_status_idx" ON "RunPartition"("status");
CREATE UNIQUE INDEX "RunPartition_runId_index_attempt_key" ON "RunPartition"("runId", "index", "attempt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
