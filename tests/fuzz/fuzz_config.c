/* libFuzzer target: the whole config loader (TOML + schema + validation)
 * must reject or accept any input without crashing or leaking. */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_text("fuzz.toml", (const char *)data, size, &diags);
    char line[2048];
    for (size_t i = 0; i < diags.n; i++)
        cfg_diag_format(&diags.items[i], line, sizeof(line));
    cfg_free(cfg);
    cfg_diags_free(&diags);
    return 0;
}
