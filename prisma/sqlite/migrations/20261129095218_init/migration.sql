-- CreateTable
CREATE TABLE "Connection" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "protocol" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Destination" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Pipeline" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "sourceKind" TEXT NOT NULL,
    "entitySet" TEXT,
    "odpContext" TEXT,
    "odpName" TEXT,
    "table" TEXT,
    "fields" TEXT,
    "filter" TEXT,
    "watermarkField" TEXT,
    "pageSize" INTEGER,
    "mode" TEXT NOT NULL,
    "schedule" TEXT,
    "timezone" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "pathTemplate" TEXT,
    "compression" TEXT,
    "rowGroupRows" INTEGER,
    "maxFileMb" INTEGER,
    "subscriptionKey" TEXT,
    "nextRunAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Pipeline_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Pipeline_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pipelineId" TEXT NOT NULL,
    "activeKey" TEXT,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "stage" TEXT NOT NULL DEFAULT 'QUEUED',
    "extractionMode" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "rowsExtracted" BIGINT NOT NULL DEFAULT 0,
    "rowsWritten" BIGINT NOT NULL DEFAULT 0,
    "filesWritten" INTEGER NOT NULL DEFAULT 0,
    "bytesWritten" BIGINT NOT NULL DEFAULT 0,
    "changesCreated" BIGINT,
    "changesUpdated" BIGINT,
    "changesDeleted" BIGINT,
    "deltaTokenIn" TEXT,
    "deltaTokenOut" TEXT,
    "manifestUri" TEXT,
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

-- CreateTable
CREATE TABLE "RunEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" TEXT,
    CONSTRAINT "RunEvent_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DeltaState" (
    "pipelineId" TEXT NOT NULL PRIMARY KEY,
    "deltaLink" TEXT,
    "token" TEXT,
    "initializedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastCommittedRunId" TEXT,
    "pendingRunId" TEXT,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "DeltaState_pipelineId_fkey" FOREIGN KEY ("pipelineId") REFERENCES "Pipeline" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "DeltaState_lastCommittedRunId_fkey" FOREIGN KEY ("lastCommittedRunId") REFERENCES "Run" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Connection_name_key" ON "Connection"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Destination_name_key" ON "Destination"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Pipeline_name_key" ON "Pipeline"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Pipeline_subscriptionKey_key" ON "Pipeline"("subscriptionKey");

-- CreateIndex
CREATE INDEX "Pipeline_connectionId_idx" ON "Pipeline"("connectionId");

-- CreateIndex
CREATE INDEX "Pipeline_destinationId_idx" ON "Pipeline"("destinationId");

-- CreateIndex
CREATE INDEX "Pipeline_enabled_nextRunAt_idx" ON "Pipeline"("enabled", "nextRunAt");

-- CreateIndex
CREATE UNIQUE INDEX "Run_activeKey_key" ON "Run"("activeKey");

-- CreateIndex
CREATE INDEX "Run_pipelineId_queuedAt_idx" ON "Run"("pipelineId", "queuedAt");

-- CreateIndex
CREATE INDEX "Run_status_idx" ON "Run"("status");

-- CreateIndex
CREATE INDEX "RunEvent_runId_id_idx" ON "RunEvent"("runId", "id");
