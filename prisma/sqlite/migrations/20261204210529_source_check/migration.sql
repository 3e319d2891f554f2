-- CreateTable
CREATE TABLE "SourceCheck" (
    "pipelineId" TEXT NOT NULL PRIMARY KEY,
    "status" TEXT NOT NULL,
    "message" TEXT,
    "checkedAt" DATETIME NOT NULL,
    CONSTRAINT "SourceCheck_pipelineId_fkey" FOREIGN KEY ("pipelineId") REFERENCES "Pipeline" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
