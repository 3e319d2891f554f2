-- AlterTable
ALTER TABLE "RunPartition" ADD COLUMN "initStart" TEXT;
