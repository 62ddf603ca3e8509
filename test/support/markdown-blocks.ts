/**
 * The fenced code blocks of a Markdown file, with the HTML comment that marks a block (if any),
 * for test/e2e/docs-examples.e2e-spec.ts. A small CommonMark subset: fences of three or more
 * backticks or tildes, closed by a fence of the same character at least as long; a block indented
 * inside a list item loses its fence's indentation.
 */

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root (`docs/tcp-dist.md`). */
  readonly file: string;
  /** The 1-based line of the opening fence. */
  readonly fenceLine: number;
  /** The language of the info string, lower-cased (`ts`, `sh`), or `''` when none is given. */
  readonly lang: string;
  /** The content, one entry per line, without the fence's indentation. */
  readonly lines: readonly string[];
  /**
   * The text of the HTML comment right before the fence (blank lines may separate them), without
   * `<!--` and `-->`, or undefined when there is none.
   */
  readonly marker?: string;
}

/** An example that fails its check, or a marker that is not understood. */
export interface ExampleFailure {
  /** The Markdown file, relative to the repository root. */
  readonly file: string;
  /** The Markdown line the failure points at (the fence when no line of the block is at fault). */
  readonly line: number;
  readonly message: string;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;

/** The fenced code blocks of `text`, in order. */
export function extractBlocks(file: string, text: string): CodeBlock[] {
  const source = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let open: { fence: string; indent: number; line: number; lang: string; marker?: string } | null =
    null;
  let content: string[] = [];
  source.forEach((line, index) => {
    // A list item's fence may sit deeper than three spaces; its content is indented with it.
    const trimmed = line.replace(/^\s*/, '');
    const indent = line.length - trimmed.length;
    if (open === null) {
      const match = FENCE.exec(' '.repeat(Math.min(indent, 3)) + trimmed);
      if (!match) return;
      const marker = markerBefore(source, index);
      open = { fence: match[2]!, indent, line: index + 1, lang: match[3]!.toLowerCase() };
      if (marker !== undefined) open.marker = marker;
      content = [];
      return;
    }
    const closing = trimmed.trimEnd();
    if (closing.length >= open.fence.length && closing === open.fence[0]!.repeat(closing.length)) {
      blocks.push({
        file,
        fenceLine: open.line,
        lang: open.lang,
        lines: content,
        ...(open.marker === undefined ? {} : { marker: open.marker }),
      });
      open = null;
      return;
    }
    content.push(line.slice(Math.min(open.indent, indent)));
  });
  if (open !== null) {
    const { line } = open;
    throw new Error(`${file}:${line}: a code fence that is never closed`);
  }
  return blocks;
}

/** The HTML comment ending on the last non-blank line before `fenceIndex`, if any. */
function markerBefore(source: readonly string[], fenceIndex: number): string | undefined {
  let end = fenceIndex - 1;
  while (end >= 0 && source[end]!.trim() === '') end--;
  if (end < 0 || !source[end]!.trim().endsWith('-->')) return undefined;
  let start = end;
  while (start >= 0 && !source[start]!.includes('<!--')) start--;
  if (start < 0) return undefined;
  const text = source.slice(start, end + 1).join('\n');
  const body = text.slice(text.indexOf('<!--') + 4, text.lastIndexOf('-->'));
  return body.trim();
}
