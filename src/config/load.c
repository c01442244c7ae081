/* Entry points: file -> TOML tree -> typed snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/loader.h"
#include "util/arena.h"

#define CFG_MAX_FILE_SIZE (16u << 20)

struct cfg *cfg_load_text(const char *path, const char *text, size_t len, struct cfg_diags *diags)
{
    struct toml_error terr;
    struct toml_table *root = toml_parse(text, len, &terr);
    if (!root) {
        cfg_diag_add(diags, CFG_ERROR, path, terr.line, terr.col, NULL, "%s", terr.msg);
        return NULL;
    }
    struct cfg_loader ld = { .file = path, .diags = diags, .arena = arena_new() };
    struct cfg *cfg = ld.arena ? arena_alloc(ld.arena, sizeof(*cfg)) : NULL;
    if (!cfg) {
        cfg_diag_add(diags, CFG_ERROR, path, 0, 0, NULL, "out of memory");
        arena_free(ld.arena);
        toml_free(root);
        return NULL;
    }
    ld.cfg = cfg;
    cfg->arena = ld.arena;
    cfg->path = ld_strdup(&ld, path, strlen(path));
    size_t errors = diags->n_errors;
    int rc = ld_read_section(&ld, &cfg_root_section, root, cfg);
    toml_free(root);
    if (rc < 0 || ld.oom || diags->n_errors > errors) {
        arena_free(ld.arena);
        return NULL;
    }
    return cfg;
}

char *cfg_read_file(const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = -errno; /* negative: the file could not be opened */
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    *err = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= CFG_MAX_FILE_SIZE) {
                *err = EFBIG;
                break;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                *err = ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                *err = errno ? errno : EIO;
            break;
        }
    }
    fclose(f);
    if (*err) {
        free(buf);
        return NULL;
    }
    if (!buf) /* an empty file */
        buf = malloc(1);
    if (!buf)
        *err = ENOMEM;
    *len = n;
    return buf;
}

struct cfg *cfg_load_file(const char *path, struct cfg_diags *diags)
{
    size_t len = 0;
    int err = 0;
    char *buf = cfg_read_file(path, &len, &err);
    if (!buf) {
        if (err < 0)
            cfg_diag_add(diags, CFG_ERROR, path, 0, 0, NULL, "cannot open config file: %s",
                         strerror(-err));
        else
            cfg_diag_add(diags, CFG_ERROR, path, 0, 0, NULL, "cannot read config file: %s",
                         err == EFBIG ? "larger than 16 MiB" : strerror(err));
        return NULL;
    }
    struct cfg *cfg = cfg_load_text(path, buf, len, diags);
    free(buf);
    return cfg;
}

void cfg_free(struct cfg *cfg)
{
    if (cfg)
        arena_free(cfg->arena);
}
