-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN "schemaColumns" TEXT;
ALTER TABLE "DeltaState" ADD COLUMN "schemaHash" TEXT;

-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN "currentState" BOOLEAN;
ALTER TABLE "Pipeline" ADD COLUMN "schemaChanges" TEXT;
ALTER TABLE "Pipeline" ADD COLUMN "tableFormat" TEXT;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN "schemaHash" TEXT;
