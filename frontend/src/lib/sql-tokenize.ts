// A small, lossless SQL tokenizer for highlighting. Tokens become text nodes and <b>/<span> elements:
// SQL text is never parsed as HTML. Concatenating the token texts gives the input back exactly.

export type SqlTokenType = "keyword" | "ident" | "string" | "number" | "param" | "comment" | "punct" | "space" | "word";

export interface SqlToken {
  type: SqlTokenType;
  text: string;
}

const KEYWORDS = new Set(
  (
    "SELECT FROM WHERE AND OR NOT IN IS NULL AS ON JOIN LEFT RIGHT INNER OUTER FULL CROSS NATURAL USING " +
    "GROUP BY ORDER HAVING LIMIT OFFSET FETCH FIRST NEXT ROWS ONLY INSERT INTO VALUES UPDATE SET DELETE " +
    "CREATE TABLE DROP ALTER INDEX VIEW DISTINCT UNION ALL INTERSECT EXCEPT CASE WHEN THEN ELSE END ASC DESC " +
    "LIKE ILIKE BETWEEN EXISTS RETURNING WITH RECURSIVE SAVEPOINT RELEASE ROLLBACK BEGIN COMMIT TRANSACTION " +
    "FOR SHARE NOWAIT SKIP LOCKED DEFAULT CONFLICT DO NOTHING PRAGMA EXPLAIN ANALYZE CAST TRUE FALSE " +
    "ESCAPE COLLATE NULLS LAST OVER PARTITION WINDOW LATERAL ANY SOME PRIMARY KEY REFERENCES CONSTRAINT"
  ).split(" "),
);

const RULES: [SqlTokenType, RegExp][] = [
  ["space", /\s+/y],
  ["comment", /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/y],
  ["string", /'(?:[^']|'')*(?:'|$)/y],
  ["ident", /"(?:[^"]|"")*(?:"|$)|`(?:[^`]|``)*(?:`|$)|\[[^\]]*(?:\]|$)/y],
  ["param", /%\([^)]*\)s|%s|\?|\$\d+|:[A-Za-z_]\w*/y],
  ["number", /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y],
  ["word", /[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/y],
];

export function tokenizeSql(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  outer: while (i < sql.length) {
    for (const [type, re] of RULES) {
      re.lastIndex = i;
      const m = re.exec(sql);
      if (m && m[0].length > 0) {
        const text = m[0];
        out.push({ type: type === "word" && KEYWORDS.has(text.toUpperCase()) ? "keyword" : type, text });
        i += text.length;
        continue outer;
      }
    }
    // Anything else is one punctuation character (operators, parens, commas, stray quotes, '<').
    out.push({ type: "punct", text: sql.charAt(i) });
    i++;
  }
  return out;
}

/**
 * Token range [start, end) of the column list of the first top-level SELECT, when it is long enough to be
 * worth folding to "•••" (django-debug-toolbar does the same). null when there is nothing to fold.
 */
export function selectListRange(tokens: readonly SqlToken[], minChars = 40): [number, number] | null {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as SqlToken;
    if (t.type === "punct") {
      if (t.text === "(") depth++;
      else if (t.text === ")") depth--;
      continue;
    }
    if (t.type !== "keyword" || depth !== 0) continue;
    const kw = t.text.toUpperCase();
    if (start < 0 && kw === "SELECT") {
      start = i + 1;
      // Keep DISTINCT visible.
      while (start < tokens.length && (tokens[start]?.type === "space" || tokens[start]?.text.toUpperCase() === "DISTINCT")) start++;
    } else if (start >= 0 && kw === "FROM") {
      let end = i;
      while (end > start && tokens[end - 1]?.type === "space") end--;
      const chars = tokens.slice(start, end).reduce((a, x) => a + x.text.length, 0);
      return end > start && chars >= minChars ? [start, end] : null;
    }
  }
  return null;
}
