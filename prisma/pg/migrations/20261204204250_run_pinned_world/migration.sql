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
