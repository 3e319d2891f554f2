-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN "positionLostAt" DATETIME;
