-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN "selectionHash" TEXT;

-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN "heldAt" DATETIME;
ALTER TABLE "Pipeline" ADD COLUMN "heldBy" TEXT;
ALTER TABLE "Pipeline" ADD COLUMN "subscribedAt" DATETIME;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pipelineId" TEXT NOT NULL,
    "activeKey" TEXT,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "stage" TEXT NOT NULL DEFAULT 'QUEUED',
    "extractionMode" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "connectionId" TEXT,
    "destinationId" TEXT,
    "pinned" TEXT,
    "takeover" BOOLEAN NOT NULL DEFAULT false,
    "rowsExtracted" BIGINT NOT NULL DEFAULT 0,
    "rowsWritten" BIGINT NOT NULL DEFAULT 0,
    "filesWritten" INTEGER NOT NULL DEFAULT 0,
    "bytesWritten" BIGINT NOT NULL DEFAULT 0,
    "changesCreated" BIGINT,
    "changesUpdated" BIGINT,
    "changesDeleted" BIGINT,
    "deltaTokenIn" TEXT,
    "deltaTokenOut" TEXT,
    "positionOut" TEXT,
    "manifestUri" TEXT,
    "uncommittedPrefix" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "errorRetryable" BOOLEAN,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "notBefore" DATETIME,
    "workerId" TEXT,
    "heartbeatAt" DATETIME,
    "queuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    CONSTRAINT "Run_pipelineId_fkey" FOREIGN KEY ("pipelineId") REFERENCES "Pipeline" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Run" ("activeKey", "attempt", "bytesWritten", "cancelRequested", "changesCreated", "changesDeleted", "changesUpdated", "deltaTokenIn", "deltaTokenOut", "errorCode", "errorMessage", "errorRetryable", "extractionMode", "filesWritten", "finishedAt", "heartbeatAt", "id", "manifestUri", "notBefore", "pipelineId", "positionOut", "queuedAt", "rowsExtracted", "rowsWritten", "stage", "startedAt", "status", "trigger", "uncommittedPrefix", "workerId") SELECT "activeKey", "attempt", "bytesWritten", "cancelRequested", "changesCreated", "changesDeleted", "changesUpdated", "deltaTokenIn", "deltaTokenOut", "errorCode", "errorMessage", "errorRetryable", "extractionMode", "filesWritten", "finishedAt", "heartbeatAt", "id", "manifestUri", "notBefore", "pipelineId", "positionOut", "queuedAt", "rowsExtracted", "rowsWritten", "stage", "startedAt", "status", "trigger", "uncommittedPrefix", "workerId" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
CREATE UNIQUE INDEX "Run_activeKey_key" ON "Run"("activeKey");
CREATE INDEX "Run_pipelineId_queuedAt_idx" ON "Run"("pipelineId", "queuedAt");
CREATE INDEX "Run_status_idx" ON "Run"("status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Pipelines initialised before subscribedAt existed hold a subscription in SAP: say so (same
-- column type as updatedAt, so the value is stored the way Prisma stores dates on this database).
UPDATE "Pipeline" SET "subscribedAt" = "updatedAt" WHERE "id" IN (SELECT "pipelineId" FROM "DeltaState");
