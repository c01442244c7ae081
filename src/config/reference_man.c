/* rpxy.toml(5): the same intro and key table as docs/config.md, as roff. */
#include <stdlib.h>
#include <string.h>

#include "config/reference.h"
#include "config/schema.h"
#include "util/roff.h"

static const char synopsis[] =
    "## Synopsis\n"
    "`/etc/rpxy/config.toml` (the Debian package), or any file given to `rpxy --config`.\n"
    "\n"
    "## Description\n";

static const char see_also[] = "## See also\n"
                               "*rpxy*(8); docs/config.md, the same reference in Markdown.\n";

/* Prints what print() writes (Markdown) through the inline rules. */
static void inline_of(FILE *out, const struct cfg_key *k,
                      void (*print)(const struct cfg_key *, FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return;
    print(k, mem);
    fclose(mem);
    roff_inline(out, text, len);
    free(text);
}

static void print_key(FILE *out, const struct cfg_key *k)
{
    fputs(".TP\n\\fB", out);
    roff_inline(out, k->name, strlen(k->name));
    fputs("\\fR", out);
    const char *mark = cfg_key_mark(k);
    roff_inline(out, mark, strlen(mark));
    fputs(" (", out);
    inline_of(out, k, cfg_print_key_type);
    fputs("; default: ", out);
    inline_of(out, k, cfg_print_key_default);
    fputs(")\n", out);
    roff_inline(out, k->help, strlen(k->help));
    fputc('\n', out);
}

void cfg_print_man(FILE *out)
{
    roff_header(out, "RPXY.TOML", 5, RPXY_VERSION, "File Formats", "rpxy.toml",
                "configuration file of the rpxy reverse proxy");
    roff_markdown(out, synopsis, ".SH");
    roff_markdown(out, cfg_reference_intro, ".SS");
    fputs(".SH KEYS\n", out);
    for (size_t i = 0; i < cfg_all_sections_count; i++) {
        const struct cfg_section *s = cfg_all_sections[i];
        fputs(".SS ", out);
        roff_inline(out, s->title, strlen(s->title));
        fputs("\n.PP\n", out);
        roff_inline(out, s->help, strlen(s->help));
        fputc('\n', out);
        for (size_t j = 0; j < s->n_keys; j++)
            print_key(out, &s->keys[j]);
    }
    roff_markdown(out, see_also, ".SH");
}
