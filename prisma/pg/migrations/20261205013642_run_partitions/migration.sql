-- CreateEnum
CREATE TYPE "PartitionStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "RunPartition" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "rangeField" TEXT NOT NULL,
    "rangeFrom" TEXT,
    "rangeTo" TEXT,
    "attempt" INTEGER NOT NULL,
    "status" "PartitionStatus" NOT NULL DEFAULT 'RUNNING',
    "workerId" TEXT NOT NULL,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "result" TEXT,

    CONSTRAINT "RunPartition_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RunPartition_runId_index_attempt_key" ON "RunPartition"("runId", "index", "attempt");

-- AddForeignKey
ALTER TABLE "RunPartition" ADD CONSTRAINT "RunPartition_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
