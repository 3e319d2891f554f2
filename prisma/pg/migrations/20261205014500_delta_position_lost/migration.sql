-- AlterTable
ALTER TABLE "DeltaState" ADD COLUMN     "positionLostAt" TIMESTAMP(3);
