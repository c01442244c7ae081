/* A worker's connection IDs: every ID a QUIC connection answers to (the
 * ones we issued, and the client's original destination ID during the
 * handshake) maps to the connection. One map per worker, no locking. */
#ifndef RPXY_QUIC_CID_MAP_H
#define RPXY_QUIC_CID_MAP_H

#include <stddef.h>
#include <stdint.h>

#define QUIC_CID_MAX 20

struct cid_map_entry;

struct cid_map {
    struct cid_map_entry **slots;
    size_t n_slots; /* a power of two */
    size_t n;
    uint64_t seed; /* hashes are keyed: client-chosen IDs must not collide at will */
};

int cid_map_init(struct cid_map *m);
void cid_map_free(struct cid_map *m);

/* Maps id to value (replacing an existing mapping). Returns 0 or -1. */
int cid_map_put(struct cid_map *m, const uint8_t *id, size_t len, void *value);
/* The value of id, or NULL. */
void *cid_map_get(const struct cid_map *m, const uint8_t *id, size_t len);
/* Forgets id (nothing when absent). */
void cid_map_del(struct cid_map *m, const uint8_t *id, size_t len);
/* Forgets every id mapped to value. */
void cid_map_del_value(struct cid_map *m, const void *value);

#endif
