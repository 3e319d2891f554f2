-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN "partitions" INTEGER;
