import {
  DestinationKind,
  ExtractionMode,
  PipelineMode,
  Protocol,
  RunStage,
  RunStatus,
  RunTrigger,
  SourceKind,
} from '../../db/generated/sqlite/enums.js'
import { SCHEMA_CHANGE_POLICIES, TABLE_FORMATS } from '../../catalog/lake-output.js'
import { RUN_ERROR_CODES } from '../../orchestrator/run-errors.js'
import { builder } from '../builder.js'

/** GraphQL enums are the database enums: one list of values, no mapping to keep in step. */
export const ProtocolEnum = builder.enumType(Protocol, { name: 'Protocol' })
export const DestinationKindEnum = builder.enumType(DestinationKind, { name: 'DestinationKind' })
export const SourceKindEnum = builder.enumType(SourceKind, { name: 'SourceKind' })
export const PipelineModeEnum = builder.enumType(PipelineMode, {
  name: 'PipelineMode',
  description: 'FULL: every run reads everything. DELTA: the first run initialises an SAP delta subscription, later runs fetch changes',
})
export const ExtractionModeEnum = builder.enumType(ExtractionMode, {
  name: 'ExtractionMode',
  description:
    'What one run reads: FULL snapshot, DELTA_INIT (snapshot + new subscription), DELTA (changes), RECOVERY (re-read a delta that was fetched but not committed)',
})
export const RunStatusEnum = builder.enumType(RunStatus, { name: 'RunStatus' })
export const RunStageEnum = builder.enumType(RunStage, {
  name: 'RunStage',
  description: 'The oldest stage still working. A FAILED or CANCELLED run keeps the stage it stopped in; DONE means committed',
})
export const RunTriggerEnum = builder.enumType(RunTrigger, {
  name: 'RunTrigger',
  description: 'MANUAL (CLI), API (runPipeline), SCHEDULE (cron), RETRY (started by the service to recover a lost run)',
})
export const RunErrorCodeEnum = builder.enumType('RunErrorCode', {
  values: RUN_ERROR_CODES,
  description:
    "The class of a run failure. retryable tells whether the service runs it again by itself. DATA_INTEGRITY: the files did not hold exactly the rows SAP sent, nothing was committed. SELECTION_CHANGED: the selection is not the one the delta subscription was made with. SUBSCRIPTION_IN_USE: SAP already holds a delta subscription that is not this pipeline's (run with takeover to replace it). SCHEMA_CHANGED: SAP's columns differ from those the last committed run wrote in a way the pipeline's schemaChanges policy does not allow (nothing committed, the delta position unchanged). OUTBOUND_REFUSED: the outbound policy refuses the host (link-local or metadata address, loopback without ALLOW_LOOPBACK, outside OUTBOUND_ALLOW)",
})
export const TableFormatEnum = builder.enumType('TableFormat', {
  values: TABLE_FORMATS,
  description:
    'NONE: Parquet files + manifest.json only. ICEBERG: every run is also committed as a snapshot of an Apache Iceberg v2 change-log table under the destination, at the pipeline name (README, Lake tables)',
})
export const SchemaChangePolicyEnum = builder.enumType('SchemaChangePolicy', {
  values: SCHEMA_CHANGE_POLICIES,
  description:
    "What a run does when SAP's columns differ from those the last committed run wrote. ALLOW_ADDITIVE (default): added fields and compatible type changes are written (a run event names them); a removed field or an incompatible type change fails the run with SCHEMA_CHANGED. BLOCK: any change fails it",
})
