/* Man pages (roff, man(7) macros) from the small Markdown the reference
 * texts are written in, so that docs/config.md and the man pages come from
 * the same strings.
 *
 * Blocks, one per line: "## Title" (a heading: .SH or .SS), "- item" (a
 * bullet), "```" (starts or ends literal lines), "= term" (a tagged
 * paragraph: the term, then the following lines as its text), "<!-- -->"
 * lines (dropped) and blank lines (a new paragraph). Inline: `code` in bold,
 * *emphasis* in italics. */
#ifndef RPXY_UTIL_ROFF_H
#define RPXY_UTIL_ROFF_H

#include <stdio.h>

/* The .TH line and NAME section: "name \- what". */
void roff_header(FILE *out, const char *title, int section, const char *version, const char *manual,
                 const char *name, const char *what);

/* Writes md as man(7) source; "## " headings become heading_macro (".SH" or
 * ".SS"), upper-cased for ".SH". */
void roff_markdown(FILE *out, const char *md, const char *heading_macro);

/* Writes one line of Markdown text with the inline rules, escaped for roff
 * (no newline). */
void roff_inline(FILE *out, const char *text, size_t len);

#endif
