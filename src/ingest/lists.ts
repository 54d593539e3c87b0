/**
 * List columns (DNS answers and TTLs, Zeek vectors and sets) from text, whichever way a source
 * writes them: a JSON array (Zeek JSON, NDJSON exports) or items joined by a separator (Zeek TSV
 * with its #set_separator, CSV exports). SQL builders only: the values never pass through JS.
 */
import type { ListType } from '../store/schema.ts';

/** `raw` is SQL text of a VARCHAR; `separator` a SQL literal or bound parameter. */
export function listFromText(raw: string, type: ListType, separator = "','"): string {
  return `CASE WHEN ${raw} IS NULL THEN NULL WHEN starts_with(ltrim(${raw}), '[') THEN TRY_CAST(TRY_CAST(${raw} AS JSON) AS ${type})
    ELSE TRY_CAST(string_split(${raw}, ${separator}) AS ${type}) END`;
}
