// Dailybot's chat formatting, rendered as DOM nodes: *bold*, _italic_, ~strike~, `code`,
// > quote, - lists, [text](url). Every piece of text goes in with textContent, so a message
// holding HTML shows that HTML as text and never runs it.
//
// As on the chat platforms Dailybot posts to (Slack's rule), emphasis markers count only at
// word edges: the opening one not right after a letter, digit or underscore, the closing one
// not right before one, and neither touching a space on the inside. So `user_activated x2,
// error/platform_failed` and `2*3*4` stay as typed.
(() => {
"use strict";

const WORD = "[\\p{L}\\p{N}_]";
function emphasis(marker) {
  const m = marker === "*" ? "\\*" : marker; // only * needs escaping (with the u flag)
  return `(?<!${WORD}|${m})${m}(?!\\s)([^${m}\\n]+?)(?<!\\s)${m}(?!${WORD}|${m})`;
}
const INLINE = new RegExp(
  [
    "`([^`\\n]+)`",
    emphasis("*"),
    emphasis("_"),
    emphasis("~"),
    "\\[([^\\]\\n]+)\\]\\(([^)\\s]+)\\)",
  ].join("|"),
  "gu",
);
const SAFE_LINK = /^(https?:|mailto:)/i;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    const [, code, bold, italic, strike, label, url] = match;
    if (code !== undefined) {
      parent.append(element("code", "", code));
    } else if (label !== undefined) {
      if (SAFE_LINK.test(url)) {
        const link = element("a", "", label);
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        parent.append(link);
      } else {
        parent.append(document.createTextNode(match[0]));
      }
    } else {
      const tag = bold !== undefined ? "strong" : italic !== undefined ? "em" : "s";
      const node = element(tag);
      appendInline(node, bold ?? italic ?? strike);
      parent.append(node);
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

// A message as a fragment of paragraphs, quotes and lists.
function renderMessage(text) {
  const fragment = document.createDocumentFragment();
  let list = null;
  let paragraph = null;
  for (const line of String(text).split("\n")) {
    if (/^\s*[-•]\s+/.test(line)) {
      paragraph = null;
      if (!list) {
        list = element("ul");
        fragment.append(list);
      }
      const item = element("li");
      appendInline(item, line.replace(/^\s*[-•]\s+/, ""));
      list.append(item);
      continue;
    }
    list = null;
    if (/^>\s?/.test(line)) {
      paragraph = null;
      const quote = element("blockquote");
      appendInline(quote, line.replace(/^>\s?/, ""));
      fragment.append(quote);
      continue;
    }
    if (line.trim() === "") {
      paragraph = null;
      continue;
    }
    if (paragraph) {
      paragraph.append(element("br"));
    } else {
      paragraph = element("p");
      fragment.append(paragraph);
    }
    appendInline(paragraph, line);
  }
  return fragment;
}

window.DailybotFormatting = { element, renderMessage };
})();
