-- AlterTable
ALTER TABLE "Connection" ADD COLUMN "maxConcurrentRuns" INTEGER;

-- CreateTable
CREATE TABLE "RunClaimLock" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT
);
