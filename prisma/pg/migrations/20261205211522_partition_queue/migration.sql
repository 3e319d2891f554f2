-- AlterEnum
ALTER TYPE "PartitionStatus" ADD VALUE 'QUEUED';

-- AlterTable
ALTER TABLE "RunPartition" ADD COLUMN     "queuedAt" TIMESTAMP(3),
ALTER COLUMN "workerId" DROP NOT NULL;

-- CreateIndex
CREATE INDEX "RunPartition_status_idx" ON "RunPartition"("status");
