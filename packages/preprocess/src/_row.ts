// Row types come from @tfpipe/data; re-exported here so the rest of the package imports one place.
export type { ColumnInfo, Row, Value } from '@tfpipe/data';
// Where a row came from (file and line), to name it in data errors.
export { copyRowOrigin, rowOrigin } from '@tfpipe/data';
