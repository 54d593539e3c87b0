/** An expression as DuckDB text inside a statement that binds its values with `bind` (the rule engine's and the matrix's way). */
import { duckdb } from '../store/dialect-duckdb.ts';
import type { SqlValue } from '../store/sql.ts';
import { render } from '../store/sql-template.ts';
import type { Expr } from './ast.ts';
import { renderExpr } from './render.ts';

export function renderBound(e: Expr, bind: (value: SqlValue) => string): string {
  return render(renderExpr(e, duckdb), { ...duckdb, value: (value) => bind(value) }).text;
}
