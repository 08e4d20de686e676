// A small Markdown renderer for the labs' READMEs: headings, paragraphs, lists (with code
// blocks inside items), fenced code, inline code, bold, emphasis, links, tables and quotes.
// Safety first: every piece of text is escaped before any tag is added, so HTML written in
// a README shows as text and never runs. Links may only be http(s), relative, or #anchors.

export function escapeHTML(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// renderMarkdown returns HTML. linkFor(href) may rewrite a link (a lab's ../02-... to
// /labs/2); it returns null to show the text without a link.
export function renderMarkdown(text, linkFor = (href) => href) {
  return blocks(text.replace(/\r\n?/g, "\n").split("\n"), linkFor);
}

function blocks(lines, linkFor) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }

    const fence = line.match(/^\s*(```+|~~~+)\s*([\w-]*)/);
    if (fence) { // fenced code: everything until the closing fence, verbatim
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      const lang = fence[2] ? ` class="lang-${escapeHTML(fence[2])}"` : "";
      out.push(`<pre><code${lang}>${escapeHTML(body.join("\n"))}</code></pre>`);
      continue;
    }

    const heading = line.match(/^(#{1,6})\s+(.*?)\s*#*$/);
    if (heading) {
      const level = heading[1].length;
      const id = "md-" + heading[2].toLowerCase().replace(/[^\w]+/g, "-").replace(/^-|-$/g, "");
      out.push(`<h${level} id="${escapeHTML(id)}">${inline(heading[2], linkFor)}</h${level}>`);
      i++;
      continue;
    }

    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
      out.push(table(rows, linkFor));
      continue;
    }

    if (/^>\s?/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) quoted.push(lines[i++].replace(/^>\s?/, ""));
      out.push(`<blockquote>${blocks(quoted, linkFor)}</blockquote>`);
      continue;
    }

    const item = line.match(/^(\s*)([-*+]|\d+[.)])\s+/);
    if (item) {
      const ordered = /\d/.test(item[2]);
      const items = [];
      // An item is its first line plus the lines indented under it (blank lines between
      // are kept when indented text follows): a lab puts code blocks inside its steps.
      while (i < lines.length) {
        const m = lines[i].match(/^(\s*)([-*+]|\d+[.)])\s+/);
        if (!m || m[1].length !== item[1].length || /\d/.test(m[2]) !== ordered) break;
        const indent = m[0].length;
        const body = [lines[i].slice(indent)];
        i++;
        while (i < lines.length) {
          const next = lines[i];
          if (!next.trim()) {
            let j = i;
            while (j < lines.length && !lines[j].trim()) j++;
            if (j < lines.length && leading(lines[j]) >= indent) { body.push(""); i++; continue; }
            break;
          }
          if (leading(next) >= indent) { body.push(next.slice(indent)); i++; continue; }
          if (/^\s*([-*+]|\d+[.)])\s+/.test(next) || /^\s*(```|#|\|)/.test(next)) break;
          body.push(next.trim()); // a lazy continuation of the item's paragraph
          i++;
        }
        items.push(body);
      }
      const tag = ordered ? "ol" : "ul";
      const start = ordered && parseInt(item[2], 10) !== 1 ? ` start="${parseInt(item[2], 10)}"` : "";
      out.push(`<${tag}${start}>` + items.map((b) => {
        const simple = b.every((l) => l.trim()) && !b.some((l) => /^\s*(```|[-*+]\s|\d+[.)]\s|\|)/.test(l));
        return `<li>${simple ? inline(b.join(" "), linkFor) : blocks(b, linkFor)}</li>`;
      }).join("") + `</${tag}>`);
      continue;
    }

    // A paragraph: lines until a blank line or the start of another block.
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^\s*(```|~~~|#{1,6}\s|>|\|)/.test(lines[i]) &&
      !(para.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]))) {
      para.push(lines[i++].trim());
    }
    out.push(`<p>${inline(para.join(" "), linkFor)}</p>`);
  }
  return out.join("\n");
}

const leading = (s) => s.length - s.trimStart().length;

function table(rows, linkFor) {
  const cells = (row) => row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  const head = cells(rows[0]);
  const body = rows.slice(2).map(cells);
  return `<table><thead><tr>${head.map((c) => `<th>${inline(c, linkFor)}</th>`).join("")}</tr></thead><tbody>` +
    body.map((r) => `<tr>${r.map((c) => `<td>${inline(c, linkFor)}</td>`).join("")}</tr>`).join("") + "</tbody></table>";
}

// inline handles code spans first (their content is literal), then, in the rest, links,
// bold and emphasis. The text is escaped before any of these tags is added.
export function inline(text, linkFor = (href) => href) {
  return text.split(/(`+[^`]*?`+)/).map((part) => {
    const code = part.match(/^(`+)([^`]*?)\1$/);
    if (code) return `<code>${escapeHTML(code[2])}</code>`;
    let s = escapeHTML(part);
    s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, href) => {
      const target = safeHref(linkFor(href.replace(/&amp;/g, "&")));
      return target === null ? label : `<a href="${escapeHTML(target)}"${/^https?:/.test(target) ? ' rel="noopener"' : ""}>${label}</a>`;
    });
    s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/(^|[^\w*])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>");
    return s;
  }).join("");
}

// safeHref keeps http(s) links, relative paths and anchors; anything with another scheme
// (javascript:, data:) is dropped.
function safeHref(href) {
  if (href === null || href === undefined) return null;
  if (/^(https?:|#|\/|\.{0,2}\/|[\w.-]+(\/|$|#))/.test(href) && !/^[a-z][\w+.-]*:/i.test(href.replace(/^https?:/, ""))) return href;
  return null;
}
