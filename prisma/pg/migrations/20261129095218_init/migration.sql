-- CreateEnum
CREATE TYPE "Protocol" AS ENUM ('ODATA', 'RFC');

-- CreateEnum
CREATE TYPE "DestinationKind" AS ENUM ('LOCAL', 'AZURE_BLOB', 'S3');

-- CreateEnum
CREATE TYPE "SourceKind" AS ENUM ('ODP_ODATA', 'ODP_RFC', 'TABLE_RFC');

-- CreateEnum
CREATE TYPE "PipelineMode" AS ENUM ('FULL', 'DELTA');

-- CreateEnum
CREATE TYPE "ExtractionMode" AS ENUM ('FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "RunStage" AS ENUM ('QUEUED', 'CONNECTING', 'EXTRACTING', 'TRANSFORMING', 'UPLOADING', 'COMMITTING', 'DONE');

-- CreateEnum
CREATE TYPE "RunTrigger" AS ENUM ('MANUAL', 'SCHEDULE', 'API', 'RETRY');

-- CreateTable
CREATE TABLE "Connection" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "protocol" "Protocol" NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Destination" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "DestinationKind" NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Destination_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Pipeline" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "sourceKind" "SourceKind" NOT NULL,
    "entitySet" TEXT,
    "odpContext" TEXT,
    "odpName" TEXT,
    "table" TEXT,
    "fields" TEXT,
    "filter" TEXT,
    "watermarkField" TEXT,
    "pageSize" INTEGER,
    "mode" "PipelineMode" NOT NULL,
    "schedule" TEXT,
    "timezone" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "pathTemplate" TEXT,
    "compression" TEXT,
    "rowGroupRows" INTEGER,
    "maxFileMb" INTEGER,
    "subscriptionKey" TEXT,
    "nextRunAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Pipeline_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL,
    "pipelineId" TEXT NOT NULL,
    "activeKey" TEXT,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "stage" "RunStage" NOT NULL DEFAULT 'QUEUED',
    "extractionMode" "ExtractionMode" NOT NULL,
    "trigger" "RunTrigger" NOT NULL,
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
    "notBefore" TIMESTAMP(3),
    "workerId" TEXT,
    "heartbeatAt" TIMESTAMP(3),
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunEvent" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL,
    "stage" "RunStage" NOT NULL,
    "message" TEXT NOT NULL,
    "data" TEXT,

    CONSTRAINT "RunEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeltaState" (
    "pipelineId" TEXT NOT NULL,
    "deltaLink" TEXT,
    "token" TEXT,
    "initializedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastCommittedRunId" TEXT,
    "pendingRunId" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeltaState_pkey" PRIMARY KEY ("pipelineId")
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

-- AddForeignKey
ALTER TABLE "Pipeline" ADD CONSTRAINT "Pipeline_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Pipeline" ADD CONSTRAINT "Pipeline_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_pipelineId_fkey" FOREIGN KEY ("pipelineId") REFERENCES "Pipeline"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunEvent" ADD CONSTRAINT "RunEvent_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeltaState" ADD CONSTRAINT "DeltaState_pipelineId_fkey" FOREIGN KEY ("pipelineId") REFERENCES "Pipeline"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeltaState" ADD CONSTRAINT "DeltaState_lastCommittedRunId_fkey" FOREIGN KEY ("lastCommittedRunId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
