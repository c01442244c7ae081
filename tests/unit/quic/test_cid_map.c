/* The connection-ID map: put, get, replace, delete, delete by value, and
 * growth past many entries. */
#include <stdint.h>

#include "../tap.h"
#include "quic/cid_map.h"

int main(void)
{
    struct cid_map m;
    TAP_OK(cid_map_init(&m) == 0, "init");
    int a, b;
    uint8_t id1[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, id2[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
    TAP_OK(cid_map_put(&m, id1, 8, &a) == 0 && cid_map_put(&m, id2, 8, &b) == 0, "put two");
    TAP_OK(cid_map_get(&m, id1, 8) == &a && cid_map_get(&m, id2, 8) == &b, "get both");
    TAP_OK(cid_map_get(&m, id1, 7) == NULL, "length is part of the key");
    cid_map_put(&m, id1, 8, &b);
    TAP_OK(cid_map_get(&m, id1, 8) == &b && m.n == 2, "put replaces");
    cid_map_del(&m, id1, 8);
    TAP_OK(cid_map_get(&m, id1, 8) == NULL && cid_map_get(&m, id2, 8) == &b, "del one");
    uint8_t id[20] = { 0 };
    for (int i = 0; i < 5000; i++) {
        id[0] = (uint8_t)i;
        id[1] = (uint8_t)(i >> 8);
        cid_map_put(&m, id, 20, i % 2 ? (void *)&a : (void *)&b);
    }
    TAP_INT_EQ(m.n, 5001, "5000 more entries");
    TAP_OK(m.n_slots >= 4096, "the table grew");
    id[0] = 77;
    id[1] = 0;
    TAP_OK(cid_map_get(&m, id, 20) == &a, "an odd entry after growth");
    cid_map_del_value(&m, &b);
    TAP_INT_EQ(m.n, 2500, "delete by value leaves the odd ones");
    TAP_OK(cid_map_get(&m, id2, 8) == NULL, "id2 went with its value");
    TAP_OK(cid_map_put(&m, id, 21, &a) == -1, "longer than 20 bytes is refused");
    cid_map_free(&m);
    return tap_done();
}
