// Row types come from @tfpipe/data; re-exported here so the rest of the package imports one place.
export type { ColumnInfo, Row, Value } from '@tfpipe/data';
