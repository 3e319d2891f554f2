-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN     "selectionHash" TEXT;

-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN     "heldAt" TIMESTAMP(3),
ADD COLUMN     "heldBy" TEXT,
ADD COLUMN     "subscribedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "connectionId" TEXT,
ADD COLUMN     "destinationId" TEXT,
ADD COLUMN     "pinned" TEXT,
ADD COLUMN     "takeover" BOOLEAN NOT NULL DEFAULT false;

-- Pipelines initialised before subscribedAt existed hold a subscription in SAP: say so (same
-- column type as updatedAt, so the value is stored the way Prisma stores dates on this database).
UPDATE "Pipeline" SET "subscribedAt" = "updatedAt" WHERE "id" IN (SELECT "pipelineId" FROM "DeltaState");
