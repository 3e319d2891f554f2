-- CreateTable
CREATE TABLE "KeyCheck" (
    "id" INTEGER NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KeyCheck_pkey" PRIMARY KEY ("id")
);
