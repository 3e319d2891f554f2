-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "maxConcurrentRuns" INTEGER;

-- CreateTable
CREATE TABLE "RunClaimLock" (
    "id" INTEGER NOT NULL,

    CONSTRAINT "RunClaimLock_pkey" PRIMARY KEY ("id")
);
