-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "snapshotId" TEXT;
