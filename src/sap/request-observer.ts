/**
 * Told about every request made to SAP (an OData HTTP request, an RFC function-module call), so the
 * service can measure SAP without `sap/` knowing about metrics (docs/architecture.md#folders: `sap`
 * knows nothing of the rest). `failed`: the request threw, or SAP answered with an HTTP error status.
 */
export type SapRequestObserver = (seconds: number, failed: boolean) => void
