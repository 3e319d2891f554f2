-- CreateTable
CREATE TABLE "KeyCheck" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);
