/**
 * The Avro schemas of Iceberg v2 manifests and manifest lists, with the `field-id` attributes
 * readers resolve fields by (Iceberg spec, "Manifests", "Manifest Lists" and "Appendix A: Avro";
 * field ids as in apache/iceberg-python pyiceberg/manifest.py). Tables here are unpartitioned, so
 * `partition` is an empty record. Maps with int keys are arrays of key/value records with the `map`
 * logical type, as the spec requires for non-string keys.
 */

const optional = (type: unknown) => ['null', type]

/** An Iceberg map<int, T> in Avro: an array of `k<key>_v<value>` records. */
function intMap(fieldId: number, name: string, keyId: number, valueId: number, value: 'long' | 'bytes') {
  return {
    name,
    type: optional({
      type: 'array',
      logicalType: 'map',
      items: {
        type: 'record',
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: 'key', type: 'int', 'field-id': keyId },
          { name: 'value', type: value, 'field-id': valueId },
        ],
      },
    }),
    default: null,
    'field-id': fieldId,
  }
}

function list(fieldId: number, name: string, elementId: number, items: 'int' | 'long') {
  return { name, type: optional({ type: 'array', items, 'element-id': elementId }), default: null, 'field-id': fieldId }
}

/** `data_file` (field id 2 of manifest_entry), v2 fields only. */
const DATA_FILE = {
  type: 'record',
  name: 'r2',
  fields: [
    { name: 'content', type: 'int', 'field-id': 134 },
    { name: 'file_path', type: 'string', 'field-id': 100 },
    { name: 'file_format', type: 'string', 'field-id': 101 },
    { name: 'partition', type: { type: 'record', name: 'r102', fields: [] }, 'field-id': 102 },
    { name: 'record_count', type: 'long', 'field-id': 103 },
    { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
    intMap(108, 'column_sizes', 117, 118, 'long'),
    intMap(109, 'value_counts', 119, 120, 'long'),
    intMap(110, 'null_value_counts', 121, 122, 'long'),
    intMap(137, 'nan_value_counts', 138, 139, 'long'),
    intMap(125, 'lower_bounds', 126, 127, 'bytes'),
    intMap(128, 'upper_bounds', 129, 130, 'bytes'),
    { name: 'key_metadata', type: optional('bytes'), default: null, 'field-id': 131 },
    list(132, 'split_offsets', 133, 'long'),
    list(135, 'equality_ids', 136, 'int'),
    { name: 'sort_order_id', type: optional('int'), default: null, 'field-id': 140 },
    { name: 'referenced_data_file', type: optional('string'), default: null, 'field-id': 143 },
  ],
}

export const MANIFEST_ENTRY_SCHEMA = {
  type: 'record',
  name: 'manifest_entry',
  fields: [
    { name: 'status', type: 'int', 'field-id': 0 },
    { name: 'snapshot_id', type: optional('long'), default: null, 'field-id': 1 },
    { name: 'sequence_number', type: optional('long'), default: null, 'field-id': 3 },
    { name: 'file_sequence_number', type: optional('long'), default: null, 'field-id': 4 },
    { name: 'data_file', type: DATA_FILE, 'field-id': 2 },
  ],
}

export const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions',
      type: optional({
        type: 'array',
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: optional('boolean'), default: null, 'field-id': 518 },
            { name: 'lower_bound', type: optional('bytes'), default: null, 'field-id': 510 },
            { name: 'upper_bound', type: optional('bytes'), default: null, 'field-id': 511 },
          ],
        },
        'element-id': 508,
      }),
      default: null,
      'field-id': 507,
    },
    { name: 'key_metadata', type: optional('bytes'), default: null, 'field-id': 519 },
  ],
}
