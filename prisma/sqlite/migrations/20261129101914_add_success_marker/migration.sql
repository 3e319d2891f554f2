-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN "successMarker" BOOLEAN;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN "uncommittedPrefix" TEXT;
