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

/** Longest SQL text looked at for a row label (names are the first 120 characters anyway). */
const LABEL_INPUT_CHARS = 2000;
const LABEL_CHARS = 240;

/**
 * One-line label for a SQL span in the waterfall: the statement start with the column list of a
 * top-level SELECT folded to "…", whitespace collapsed: `SELECT … FROM "shop_author" WHERE …`. Short
 * lists without a comma (`COUNT(*) AS "__count"`, one column) stay. A SELECT cut before its FROM (span
 * names are truncated) folds to the end.
 */
export function sqlLabel(sql: string): string {
  const tokens = tokenizeSql(sql.length > LABEL_INPUT_CHARS ? sql.slice(0, LABEL_INPUT_CHARS) : sql);
  let fold = selectListRange(tokens, 0);
  if (!fold) {
    const open = openSelectList(tokens);
    if (open) fold = open;
  }
  if (fold) {
    const [a, b] = fold;
    let chars = 0;
    let comma = false;
    let depth = 0;
    for (let i = a; i < b; i++) {
      const t = tokens[i] as SqlToken;
      chars += t.text.length;
      if (t.type === "punct") {
        if (t.text === "(") depth++;
        else if (t.text === ")") depth--;
        else if (t.text === "," && depth === 0) comma = true;
      }
    }
    if (!(chars >= 40 || (comma && chars > 12))) fold = null;
  }
  let out = "";
  let cut = sql.length > LABEL_INPUT_CHARS;
  for (let i = 0; i < tokens.length; i++) {
    if (fold && i === fold[0]) {
      out += "…";
      i = fold[1] - 1;
      continue;
    }
    const t = tokens[i] as SqlToken;
    out += t.type === "space" ? " " : t.type === "comment" ? "" : t.text;
    if (out.length >= LABEL_CHARS) {
      cut = cut || i < tokens.length - 1;
      break;
    }
  }
  out = out.replace(/\s+/g, " ").trim();
  if (!cut || out.endsWith("…")) return out;
  return `${out.slice(0, LABEL_CHARS - 1).trimEnd()}…`;
}

/** [start, end) of a first top-level SELECT's column list that runs to the end of the text (no FROM). */
function openSelectList(tokens: readonly SqlToken[]): [number, number] | null {
  let i = 0;
  while (i < tokens.length && (tokens[i]?.type === "space" || tokens[i]?.type === "comment")) i++;
  if (tokens[i]?.type !== "keyword" || tokens[i]?.text.toUpperCase() !== "SELECT") return null;
  let start = i + 1;
  while (start < tokens.length && (tokens[start]?.type === "space" || tokens[start]?.text.toUpperCase() === "DISTINCT")) start++;
  let depth = 0;
  for (let j = start; j < tokens.length; j++) {
    const t = tokens[j] as SqlToken;
    if (t.type === "punct") depth += t.text === "(" ? 1 : t.text === ")" ? -1 : 0;
    else if (depth === 0 && t.type === "keyword" && t.text.toUpperCase() === "FROM") return null;
  }
  let end = tokens.length;
  while (end > start && tokens[end - 1]?.type === "space") end--;
  return end > start ? [start, end] : null;
}
