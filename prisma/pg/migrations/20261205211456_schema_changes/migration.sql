-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN     "schemaColumns" TEXT,
ADD COLUMN     "schemaHash" TEXT;

-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN     "currentState" BOOLEAN,
ADD COLUMN     "schemaChanges" TEXT,
ADD COLUMN     "tableFormat" TEXT;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "schemaHash" TEXT;
