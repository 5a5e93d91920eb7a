/*
 * Parley's Markdown renderer: a safe subset, written for this page.
 *
 * Why not `marked` + `DOMPurify`: model output and retrieved documents are untrusted, and the
 * safest HTML is HTML that is never parsed. This renderer never builds an HTML string and never
 * touches innerHTML: it creates elements from a fixed list of tag names and puts every piece of
 * text in with text nodes, so `<script>`, `<img onerror>` and friends stay visible text. Links
 * keep only http(s) and mailto targets. It is ~300 lines with no dependency, needs no vendoring
 * or build step, and covers what chat models write: paragraphs, headings, emphasis, code spans
 * and fenced code, lists (nested), block quotes, tables, rules, links and [n] citations.
 *
 * API: ParleyMarkdown.render(text, {cite}) -> DocumentFragment, where `cite(n)` returns a node
 * for the citation marker [n] or null to leave it as text.
 */
(function () {
  'use strict';

  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w#+.-]*)\s*$/;
  const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const TABLE_SEP = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The URL if it is safe to link (http, https, mailto), else null. */
  function safeUrl(raw) {
    try {
      const url = new URL(raw, window.location.href);
      if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'mailto:') {
        return url.href;
      }
    } catch (_) {
      /* not a URL */
    }
    return null;
  }

  function link(href, children) {
    const a = el('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    a.append(...children);
    return a;
  }

  // -- inline ---------------------------------------------------------------------------------

  const EMPHASIS = [
    [/^\*\*(?=\S)([\s\S]*?\S)\*\*/, 'strong'],
    [/^__(?=\S)([\s\S]*?\S)__(?!\w)/, 'strong'],
    [/^~~(?=\S)([\s\S]*?\S)~~/, 'del'],
    [/^\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)/, 'em'],
    [/^_(?=[^\s_])([\s\S]*?[^\s_])_(?!\w)/, 'em'],
  ];
  const LINK_TEXT = /^\[([^\]\n]{1,500})\]\(/;
  const CITATION = /^\[(\d{1,3})\]/;
  const AUTOLINK = /^(?:https?:\/\/|mailto:)[^\s<>"]*[^\s<>"'.,;:!?)\]]/;
  const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|~>]/;

  /** `[text](destination "title")` at the start of `rest`, parentheses balanced, or null. */
  function parseLink(rest) {
    const head = LINK_TEXT.exec(rest);
    if (!head) return null;
    let i = head[0].length;
    let depth = 0;
    let dest = '';
    while (i < rest.length && rest[i] === ' ') i += 1;
    for (; i < rest.length && i < 2500; i += 1) {
      const ch = rest[i];
      if (ch === '\n') return null;
      if (ch === '(') depth += 1;
      if (ch === ')') {
        if (depth === 0) break;
        depth -= 1;
      }
      if (ch === ' ' && depth === 0) {
        const title = /^ +"[^"\n]*" *\)/.exec(rest.slice(i));
        if (!title) return null;
        i += title[0].length - 1;
        break;
      }
      dest += ch;
    }
    if (rest[i] !== ')' || !dest) return null;
    return { text: head[1], href: dest.replace(/^<(.*)>$/, '$1'), length: i + 1 };
  }

  function inline(text, opts, depth) {
    const out = [];
    let plain = '';
    const flush = () => {
      if (plain) out.push(document.createTextNode(plain));
      plain = '';
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      const rest = text.slice(i);
      if (ch === '\\' && i + 1 < text.length && ESCAPABLE.test(text[i + 1])) {
        plain += text[i + 1];
        i += 2;
        continue;
      }
      if (ch === '`') {
        const ticks = /^`+/.exec(rest)[0];
        const end = text.indexOf(ticks, i + ticks.length);
        if (end > i) {
          flush();
          let code = text.slice(i + ticks.length, end);
          if (/^ .* $/.test(code)) code = code.slice(1, -1);
          out.push(el('code', null, code));
          i = end + ticks.length;
          continue;
        }
        plain += ticks;
        i += ticks.length;
        continue;
      }
      if (ch === '[') {
        const m = parseLink(rest);
        if (m) {
          const href = safeUrl(m.href);
          flush();
          const label = depth < 4 ? inline(m.text, opts, depth + 1) : [document.createTextNode(m.text)];
          // An unsafe target (javascript:, data:...) keeps its words and loses the link.
          out.push(...(href ? [link(href, label)] : label));
          i += m.length;
          continue;
        }
        const c = CITATION.exec(rest);
        if (c && opts.cite) {
          const node = opts.cite(Number(c[1]));
          if (node) {
            plain = plain.replace(/ $/, '\u00a0'); // keep the marker on its word's line
            flush();
            out.push(node);
          } else {
            // A mark with no source shown (the model invented "[4]"): not rendered at all.
            plain = plain.replace(/ $/, '');
          }
          i += c[0].length;
          continue;
        }
      }
      if ((ch === 'h' || ch === 'm') && !/\w/.test(text[i - 1] || '')) {
        const m = AUTOLINK.exec(rest);
        const href = m && safeUrl(m[0]);
        if (href) {
          flush();
          out.push(link(href, [document.createTextNode(m[0])]));
          i += m[0].length;
          continue;
        }
      }
      if ((ch === '*' || ch === '_' || ch === '~') && depth < 6) {
        if (ch === '_' && /\w/.test(text[i - 1] || '')) {
          plain += ch;
          i += 1;
          continue;
        }
        let matched = false;
        for (const [pattern, tag] of EMPHASIS) {
          const m = pattern.exec(rest);
          if (m) {
            flush();
            const node = el(tag);
            node.append(...inline(m[1], opts, depth + 1));
            out.push(node);
            i += m[0].length;
            matched = true;
            break;
          }
        }
        if (matched) continue;
      }
      plain += ch;
      i += 1;
    }
    flush();
    return out;
  }

  /**
   * Inline content of a paragraph whose single line breaks are kept (chat models mean them),
   * except hard wraps copied from a source: a break inside a sentence (a full line with no
   * end punctuation before it, a lower-case word after it) is a space.
   */
  function inlineLines(lines, opts) {
    const joined = [];
    for (const line of lines) {
      const last = joined.length ? joined[joined.length - 1] : null;
      if (last !== null && isHardWrap(last, line)) joined[joined.length - 1] = `${last.trimEnd()} ${line.trim()}`;
      else joined.push(line);
    }
    const nodes = [];
    joined.forEach((line, index) => {
      if (index) nodes.push(el('br'));
      nodes.push(...inline(line.trim(), opts, 0));
    });
    return nodes;
  }

  function isHardWrap(before, after) {
    // Wrapped source text fills its lines (to ~60-80 columns); a short line is meant.
    const line = before.trim();
    return line.length >= 50 && /[\p{L}\p{N},;]$/u.test(line) && /^\s*[\p{Ll}(]/u.test(after);
  }

  /** Plain text (a source passage) with its hard line wraps undone: paragraphs stay apart. */
  function unwrap(text) {
    return String(text)
      .replace(/\r\n?/g, '\n')
      .split(/\n[ \t]*\n+/)
      // A line that starts a list item keeps its break.
      .map((paragraph) => paragraph.replace(/[ \t]*\n[ \t]*(?!(?:[-*•]|\d{1,3}[.)])\s)/g, ' ').trim())
      .filter(Boolean)
      .join('\n\n');
  }

  // -- blocks ---------------------------------------------------------------------------------

  function startsBlock(line, next) {
    return (
      FENCE.test(line) ||
      HEADING.test(line) ||
      RULE.test(line) ||
      QUOTE.test(line) ||
      ITEM.test(line) ||
      (line.includes('|') && next !== undefined && TABLE_SEP.test(next))
    );
  }

  function splitRow(line) {
    let row = line.trim();
    if (row.startsWith('|')) row = row.slice(1);
    if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
    const cells = [];
    let cell = '';
    for (let i = 0; i < row.length; i += 1) {
      if (row[i] === '\\' && row[i + 1] === '|') {
        cell += '|';
        i += 1;
      } else if (row[i] === '|') {
        cells.push(cell.trim());
        cell = '';
      } else {
        cell += row[i];
      }
    }
    cells.push(cell.trim());
    return cells;
  }

  function codeBlock(lang, lines) {
    const figure = el('div', 'code-block');
    const bar = el('div', 'code-bar');
    bar.append(el('span', 'code-lang', lang || 'text'));
    const copy = el('button', 'copy-code', 'Copy');
    copy.type = 'button';
    copy.setAttribute('aria-label', 'Copy code');
    bar.append(copy);
    const pre = el('pre');
    pre.append(el('code', null, lines.join('\n')));
    pre.tabIndex = 0;
    figure.append(bar, pre);
    return figure;
  }

  function blocks(lines, opts, depth) {
    const out = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) {
        i += 1;
        continue;
      }
      let m = FENCE.exec(line);
      if (m) {
        const fence = m[1];
        const body = [];
        i += 1;
        while (i < lines.length && !(lines[i].trim().startsWith(fence[0].repeat(fence.length)) && lines[i].trim().replace(/[`~]/g, '') === '')) {
          body.push(lines[i]);
          i += 1;
        }
        i += 1; // the closing fence (absent while a reply is still streaming)
        out.push(codeBlock(m[2], body));
        continue;
      }
      m = HEADING.exec(line);
      if (m) {
        const level = Math.min(6, m[1].length + 2); // h1/h2 belong to the page
        const h = el(`h${level}`);
        h.append(...inline(m[2], opts, 0));
        out.push(h);
        i += 1;
        continue;
      }
      if (RULE.test(line)) {
        out.push(el('hr'));
        i += 1;
        continue;
      }
      if (QUOTE.test(line)) {
        const inner = [];
        while (i < lines.length && lines[i].trim() && QUOTE.test(lines[i])) {
          inner.push(QUOTE.exec(lines[i])[1]);
          i += 1;
        }
        const quote = el('blockquote');
        quote.append(...(depth < 6 ? blocks(inner, opts, depth + 1) : [el('p', null, inner.join('\n'))]));
        out.push(quote);
        continue;
      }
      m = ITEM.exec(line);
      if (m && depth < 8) {
        const consumed = list(lines, i, opts, depth);
        out.push(consumed.node);
        i = consumed.next;
        continue;
      }
      if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
        const head = splitRow(line);
        const aligns = splitRow(lines[i + 1]).map((c) =>
          c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : '',
        );
        i += 2;
        const wrap = el('div', 'table-wrap');
        const table = el('table');
        const thead = el('thead');
        const tr = el('tr');
        head.forEach((cell, col) => {
          const th = el('th');
          th.scope = 'col';
          if (aligns[col]) th.classList.add(`align-${aligns[col]}`);
          th.append(...inline(cell, opts, 0));
          tr.append(th);
        });
        thead.append(tr);
        const tbody = el('tbody');
        while (i < lines.length && lines[i].trim() && lines[i].includes('|')) {
          const row = el('tr');
          splitRow(lines[i]).slice(0, head.length).forEach((cell, col) => {
            const td = el('td');
            if (aligns[col]) td.classList.add(`align-${aligns[col]}`);
            td.append(...inline(cell, opts, 0));
            row.append(td);
          });
          tbody.append(row);
          i += 1;
        }
        table.append(thead, tbody);
        wrap.append(table);
        out.push(wrap);
        continue;
      }
      const para = [line];
      i += 1;
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i], lines[i + 1])) {
        para.push(lines[i]);
        i += 1;
      }
      const p = el('p');
      p.append(...inlineLines(para, opts));
      out.push(p);
    }
    return out;
  }

  function list(lines, start, opts, depth) {
    const first = ITEM.exec(lines[start]);
    const indent = first[1].length;
    const ordered = /\d/.test(first[2]);
    const node = el(ordered ? 'ol' : 'ul');
    if (ordered) {
      const n = parseInt(first[2], 10);
      if (n !== 1) node.start = n;
    }
    let i = start;
    let loose = false;
    const items = [];
    while (i < lines.length) {
      const m = ITEM.exec(lines[i]);
      if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
      const body = [m[3]];
      const contentIndent = m[1].length + m[2].length + 1;
      i += 1;
      while (i < lines.length) {
        const current = lines[i];
        if (!current.trim()) {
          // A blank line continues the item only when indented content follows.
          const next = lines[i + 1];
          if (next !== undefined && next.trim() && leading(next) > indent) {
            loose = true;
            body.push('');
            i += 1;
            continue;
          }
          break;
        }
        const sub = ITEM.exec(current);
        if (sub && sub[1].length <= indent) break;
        if (!sub && leading(current) <= indent && startsBlock(current, lines[i + 1])) break;
        body.push(current.slice(Math.min(leading(current), contentIndent)));
        i += 1;
      }
      items.push(body);
      if (i < lines.length && !lines[i].trim()) {
        const next = lines[i + 1];
        const again = next !== undefined && ITEM.exec(next);
        if (again && again[1].length === indent) {
          loose = true;
          i += 1;
        }
      }
    }
    for (const body of items) {
      const li = el('li');
      const children = blocks(body, opts, depth + 1);
      if (!loose && children.length && children[0].tagName === 'P') {
        li.append(...children[0].childNodes, ...children.slice(1));
      } else {
        li.append(...children);
      }
      node.append(li);
    }
    return { node, next: i };
  }

  function leading(line) {
    return line.length - line.trimStart().length;
  }

  function render(text, opts) {
    const fragment = document.createDocumentFragment();
    const lines = String(text || '')
      .replace(/\r\n?/g, '\n')
      .replace(/\t/g, '    ')
      .split('\n');
    fragment.append(...blocks(lines, opts || {}, 0));
    return fragment;
  }

  window.ParleyMarkdown = Object.freeze({ render, safeUrl, unwrap });
})();
