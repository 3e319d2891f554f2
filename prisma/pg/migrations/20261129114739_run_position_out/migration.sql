-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "positionOut" TEXT;
