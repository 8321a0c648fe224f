// check.mjs PREFIX: reads comply's Parquet export under PREFIX with DuckDB
// and prints, as one JSON object, the answers that export/duckdb_test.go
// compares with comply's own. The queries are the ones docs/analytics.md
// shows.
import { DuckDBInstance } from '@duckdb/node-api';

const prefix = process.argv[2];
if (!prefix) {
  console.error('usage: node check.mjs PREFIX');
  process.exit(2);
}
const src = `read_parquet('${prefix.replaceAll("'", "''")}/**/*.parquet', hive_partitioning = true)`;

const queries = {
  totals: `SELECT count(*) AS entries,
       count(*) FILTER (WHERE NOT safety_passed) AS safety_failures,
       count(*) FILTER (WHERE metadata->>'$.error.type' <> '') AS errors,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       avg(latency_ms) AS avg_latency_ms,
       count(DISTINCT id) AS distinct_ids
FROM ${src}`,
  by_model: `SELECT coalesce(model, '') AS model,
       count(*) AS entries,
       count(*) FILTER (WHERE NOT safety_passed) AS safety_failures,
       count(*) FILTER (WHERE metadata->>'$.error.type' <> '') AS errors
FROM ${src}
GROUP BY 1 ORDER BY 1`,
  by_day: `SELECT dt, count(*) AS entries FROM ${src} GROUP BY dt ORDER BY dt`,
  tool_calls: `SELECT t.name AS tool, count(*) AS calls
FROM ${src}, unnest(tool_calls) AS u(t)
GROUP BY 1 ORDER BY 1`,
  schema: `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${src})`,
};

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const out = {};
for (const [name, sql] of Object.entries(queries)) {
  const reader = await conn.runAndReadAll(sql);
  out[name] = reader.getRowObjectsJson();
}
console.log(JSON.stringify(out));
