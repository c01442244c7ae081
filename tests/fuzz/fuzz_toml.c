/* libFuzzer target for the TOML parser: any bytes must parse or fail
 * cleanly, without crashing, leaking or reading out of bounds. */
#include "config/toml.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct toml_error err;
    struct toml_table *root = toml_parse((const char *)data, size, &err);

    if (root) {
        /* walk the top level through the lookup API as a user would */
        for (size_t i = 0; i < root->n; i++)
            if (strlen(root->kv[i].key) == root->kv[i].key_len &&
                toml_get(root, root->kv[i].key) != &root->kv[i])
                __builtin_trap(); /* keys are unique, so lookup finds this one */
        toml_free(root);
    } else if (err.line < 1 || err.col < 1 || err.msg[0] == '\0') {
        __builtin_trap(); /* every failure must say where and what */
    }
    return 0;
}
