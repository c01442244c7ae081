/* Unit tests for src/tls/pq/mlkem768.c: every ML-KEM-768 known-answer vector
 * of NIST ACVP, C2SP/CCTV and Wycheproof (tests/data/mlkem/, converted by
 * tests/data/mlkem/convert.py; its docstring describes the line format), one
 * TAP line per file, then direct checks of sizes, input checks and implicit
 * rejection. Runs with the repository root as working directory. */
#include "../tap.h"
#include "tls/pq/mlkem768.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define DATA_DIR "tests/data/mlkem/vectors/"
#define SHOW_FAILURES 3 /* diagnostics printed per file */

#define DK_EK_OFF 1152 /* dk = dk_pke || ek || H(ek) || z */
#define DK_H_OFF (DK_EK_OFF + MLKEM768_EK_BYTES)
#define DK_Z_OFF (DK_H_OFF + 32)

struct bytes {
    uint8_t *p;
    size_t n;
    int set;
};

/* One parsed line of a vector file. */
struct vec {
    char op[16];
    long tc;
    int valid;    /* result=valid */
    int rejected; /* -1 when absent */
    struct bytes d, z, ek, dk, m, c, k, seed;
};

static const struct {
    const char *name;
    size_t off;
} byte_fields[] = {
    { "d", offsetof(struct vec, d) },   { "z", offsetof(struct vec, z) },
    { "ek", offsetof(struct vec, ek) }, { "dk", offsetof(struct vec, dk) },
    { "m", offsetof(struct vec, m) },   { "c", offsetof(struct vec, c) },
    { "k", offsetof(struct vec, k) },   { "seed", offsetof(struct vec, seed) },
};

/* What one file run found. */
struct tally {
    const char *label;
    int total, passed, skipped, shown;
};

static int hex_nibble(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static int hex_decode(struct bytes *b, const char *hex, size_t len)
{
    if (len % 2)
        return -1;
    b->n = len / 2;
    b->p = malloc(b->n ? b->n : 1);
    b->set = 1;
    if (b->p == NULL)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b->p[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void vec_free(struct vec *v)
{
    for (size_t i = 0; i < sizeof byte_fields / sizeof byte_fields[0]; i++)
        free(((struct bytes *)((char *)v + byte_fields[i].off))->p);
    memset(v, 0, sizeof *v);
}

/* Parses "op name=value ..." (line is modified). Returns 0 or -1. */
static int vec_parse(struct vec *v, char *line)
{
    char *save = NULL, *tok = strtok_r(line, " \n", &save);

    memset(v, 0, sizeof *v);
    v->rejected = -1;
    v->tc = -1;
    if (tok == NULL || strlen(tok) >= sizeof v->op)
        return -1;
    strcpy(v->op, tok);
    while ((tok = strtok_r(NULL, " \n", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            return -1;
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(tok, "tc") == 0) {
            v->tc = strtol(val, NULL, 10);
        } else if (strcmp(tok, "result") == 0) {
            v->valid = strcmp(val, "valid") == 0;
        } else if (strcmp(tok, "rejected") == 0) {
            v->rejected = atoi(val);
        } else {
            size_t i = 0, n = sizeof byte_fields / sizeof byte_fields[0];
            while (i < n && strcmp(tok, byte_fields[i].name) != 0)
                i++;
            if (i == n)
                return -1;
            struct bytes *b = (struct bytes *)((char *)v + byte_fields[i].off);
            if (b->set || hex_decode(b, val, strlen(val)) != 0)
                return -1;
        }
    }
    return 0;
}

static int fail(struct tally *t, const struct vec *v, const char *what)
{
    if (t->shown++ < SHOW_FAILURES)
        printf("#   %s tcId %ld: %s\n", t->label, v->tc, what);
    return 0;
}

static int bytes_eq(const struct bytes *b, const uint8_t *p, size_t n)
{
    return b->set && b->n == n && memcmp(b->p, p, n) == 0;
}

/* J(z || c) = SHAKE-256(z || c) to 32 bytes, computed here independently. */
static void implicit_rejection(uint8_t out[32], const uint8_t *dk, const uint8_t *c, size_t c_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_shake256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, dk + DK_Z_OFF, 32) != 1 || EVP_DigestUpdate(ctx, c, c_len) != 1 ||
        EVP_DigestFinalXOF(ctx, out, 32) != 1)
        memset(out, 0, 32);
    EVP_MD_CTX_free(ctx);
}

static int check_keygen(struct tally *t, const struct vec *v)
{
    uint8_t ek[MLKEM768_EK_BYTES], dk[MLKEM768_DK_BYTES];

    if (v->d.n != 32 || v->z.n != 32)
        return fail(t, v, "bad vector: d or z not 32 bytes");
    if (mlkem768_keygen_internal(ek, dk, v->d.p, v->z.p) != 0)
        return fail(t, v, "keygen_internal failed");
    if (!bytes_eq(&v->ek, ek, sizeof ek))
        return fail(t, v, "ek differs");
    if (!bytes_eq(&v->dk, dk, sizeof dk))
        return fail(t, v, "dk differs");
    return 1;
}

static int check_encaps(struct tally *t, const struct vec *v)
{
    static const uint8_t zero_m[32];
    uint8_t ct[MLKEM768_CT_BYTES], ss[MLKEM768_SS_BYTES], ss2[MLKEM768_SS_BYTES];
    const uint8_t *m = v->m.set ? v->m.p : zero_m;

    if (v->m.set && v->m.n != 32)
        return fail(t, v, "bad vector: m not 32 bytes");
    int rc = mlkem768_encaps_internal(ct, ss, v->ek.p, v->ek.n, m);
    if (!v->valid) {
        if (rc != -1)
            return fail(t, v, "invalid ek accepted by encaps_internal");
        if (mlkem768_encaps(ct, ss, v->ek.p, v->ek.n) != -1)
            return fail(t, v, "invalid ek accepted by encaps");
        return 1;
    }
    if (rc != 0)
        return fail(t, v, "encaps_internal failed");
    if (!bytes_eq(&v->c, ct, sizeof ct))
        return fail(t, v, "c differs");
    if (!bytes_eq(&v->k, ss, sizeof ss))
        return fail(t, v, "K differs");
    if (v->dk.set) {
        if (mlkem768_decaps(ss2, v->dk.p, v->dk.n, v->c.p, v->c.n) != 0)
            return fail(t, v, "decaps failed");
        if (!bytes_eq(&v->k, ss2, sizeof ss2))
            return fail(t, v, "decaps: K differs");
        /* the randomised API with the same key agrees with itself */
        if (mlkem768_encaps(ct, ss, v->ek.p, v->ek.n) != 0 ||
            mlkem768_decaps(ss2, v->dk.p, v->dk.n, ct, sizeof ct) != 0 ||
            memcmp(ss, ss2, sizeof ss) != 0)
            return fail(t, v, "random encaps/decaps round trip differs");
    }
    return 1;
}

static int check_decaps(struct tally *t, const struct vec *v)
{
    uint8_t ss[MLKEM768_SS_BYTES], j[32];
    int rc = mlkem768_decaps(ss, v->dk.p, v->dk.n, v->c.p, v->c.n);

    if (!v->valid)
        return rc == -1 ? 1 : fail(t, v, "invalid input accepted by decaps");
    if (rc != 0)
        return fail(t, v, "decaps failed");
    if (!bytes_eq(&v->k, ss, sizeof ss))
        return fail(t, v, "K differs");
    if (v->rejected >= 0) {
        implicit_rejection(j, v->dk.p, v->c.p, v->c.n);
        if ((memcmp(j, ss, sizeof j) == 0) != v->rejected)
            return fail(t, v, v->rejected ? "K is not J(z || c)" : "K is J(z || c)");
    }
    return 1;
}

/* Returns 1 pass, 0 fail, -1 skipped (seed length: API-level). */
static int check_keygen_decaps(struct tally *t, const struct vec *v)
{
    uint8_t ek[MLKEM768_EK_BYTES], dk[MLKEM768_DK_BYTES], ss[MLKEM768_SS_BYTES];

    if (v->seed.n != 64)
        return -1;
    if (mlkem768_keygen_internal(ek, dk, v->seed.p, v->seed.p + 32) != 0)
        return fail(t, v, "keygen_internal failed");
    if (v->ek.set && !bytes_eq(&v->ek, ek, sizeof ek))
        return fail(t, v, "ek differs");
    int rc = mlkem768_decaps(ss, dk, sizeof dk, v->c.p, v->c.n);
    if (!v->valid)
        return rc == -1 ? 1 : fail(t, v, "invalid ciphertext accepted by decaps");
    if (rc != 0)
        return fail(t, v, "decaps failed");
    if (!bytes_eq(&v->k, ss, sizeof ss))
        return fail(t, v, "K differs");
    return 1;
}

static void run_file(const char *file, const char *label, int expected)
{
    char path[256], *line = NULL;
    size_t cap = 0;
    struct tally t = { label, 0, 0, 0, 0 };
    struct vec v;

    snprintf(path, sizeof path, DATA_DIR "%s", file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        printf("#   cannot open %s (run from the repository root)\n", path);
    while (f != NULL && getline(&line, &cap, f) > 0) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        t.total++;
        int r;
        if (vec_parse(&v, line) != 0)
            r = fail(&t, &v, "unparsable line");
        else if (strcmp(v.op, "keygen") == 0)
            r = check_keygen(&t, &v);
        else if (strcmp(v.op, "encaps") == 0)
            r = check_encaps(&t, &v);
        else if (strcmp(v.op, "decaps") == 0)
            r = check_decaps(&t, &v);
        else if (strcmp(v.op, "keygen_decaps") == 0)
            r = check_keygen_decaps(&t, &v);
        else
            r = fail(&t, &v, "unknown operation");
        vec_free(&v);
        if (r > 0)
            t.passed++;
        else if (r < 0)
            t.skipped++;
    }
    free(line);
    if (f != NULL)
        fclose(f);

    char what[160];
    snprintf(what, sizeof what, "%s: %d/%d vectors", label, t.passed, t.total - t.skipped);
    TAP_OK(t.total == expected && t.passed == t.total - t.skipped && t.total > 0, what);
    if (t.total != expected)
        printf("#   expected %d vectors in %s, found %d\n", expected, path, t.total);
    if (t.skipped)
        printf("# %s: %d API-level vectors skipped (seed not 64 bytes; the API takes d and z "
               "of 32 bytes)\n",
               label, t.skipped);
}

static void test_vectors(void)
{
    run_file("acvp-keygen.txt", "ACVP keyGen AFT", 25);
    run_file("acvp-encapdecap-aft.txt", "ACVP encapDecap AFT", 25);
    run_file("acvp-encapdecap-val.txt", "ACVP encapDecap VAL", 10);
    run_file("cctv-intermediate.txt", "CCTV intermediate", 1);
    run_file("cctv-unluckysample.txt", "CCTV unluckysample", 1);
    run_file("cctv-strcmp.txt", "CCTV strcmp", 1);
    run_file("cctv-modulus.txt", "CCTV modulus (each ek rejected)", 780);
    run_file("wycheproof-keygen-seed.txt", "Wycheproof keygen_seed", 100);
    run_file("wycheproof-encaps.txt", "Wycheproof encaps", 265);
    run_file("wycheproof-mlkem-768.txt", "Wycheproof mlkem_768_test", 193);
    run_file("wycheproof-semi-expanded-decaps.txt", "Wycheproof semi_expanded_decaps", 9);
}

static void test_sizes(void)
{
    TAP_INT_EQ(MLKEM768_EK_BYTES, 1184, "ek is 1184 bytes");
    TAP_INT_EQ(MLKEM768_DK_BYTES, 2400, "dk is 2400 bytes");
    TAP_INT_EQ(MLKEM768_CT_BYTES, 1088, "ciphertext is 1088 bytes");
    TAP_INT_EQ(MLKEM768_SS_BYTES, 32, "shared secret is 32 bytes");
    TAP_INT_EQ(MLKEM768_SEED_BYTES, 32, "d, z and m are 32 bytes");
}

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static void test_round_trip(void)
{
    static uint8_t ek[MLKEM768_EK_BYTES], dk[MLKEM768_DK_BYTES], ct[MLKEM768_CT_BYTES];
    uint8_t ss[MLKEM768_SS_BYTES], ss2[MLKEM768_SS_BYTES], h[32], j[32];
    int bad = 0, layout = 0, flipped = 0;

    for (int i = 0; i < 20; i++) {
        if (mlkem768_keygen(ek, dk) != 0 || mlkem768_encaps(ct, ss, ek, sizeof ek) != 0 ||
            mlkem768_decaps(ss2, dk, sizeof dk, ct, sizeof ct) != 0 ||
            memcmp(ss, ss2, sizeof ss) != 0) {
            bad++;
            continue;
        }
        /* dk embeds ek and H(ek) */
        unsigned int hl = 0;
        if (memcmp(dk + DK_EK_OFF, ek, sizeof ek) != 0 ||
            EVP_Digest(ek, sizeof ek, h, &hl, EVP_sha3_256(), NULL) != 1 ||
            memcmp(dk + DK_H_OFF, h, 32) != 0)
            layout++;
        /* one flipped ciphertext bit: no error, the implicit rejection value */
        ct[(size_t)i * 53 % sizeof ct] ^= (uint8_t)(1u << (i % 8));
        implicit_rejection(j, dk, ct, sizeof ct);
        if (mlkem768_decaps(ss2, dk, sizeof dk, ct, sizeof ct) != 0 ||
            memcmp(ss, ss2, sizeof ss) == 0 || memcmp(ss2, j, sizeof j) != 0)
            flipped++;
    }
    TAP_INT_EQ(bad, 0, "random keygen/encaps/decaps: both sides agree (20 keys)");
    TAP_INT_EQ(layout, 0, "dk = dk_pke || ek || H(ek) || z");
    TAP_INT_EQ(flipped, 0, "a flipped ciphertext bit gives J(z || c), not an error");

    uint8_t ek2[MLKEM768_EK_BYTES], dk2[MLKEM768_DK_BYTES];
    TAP_OK(mlkem768_keygen(ek2, dk2) == 0 && memcmp(ek, ek2, sizeof ek) != 0 &&
               memcmp(dk + DK_Z_OFF, dk2 + DK_Z_OFF, 32) != 0,
           "two random keys differ");
}

static void test_input_checks(void)
{
    static uint8_t ek[MLKEM768_EK_BYTES + 1], dk[MLKEM768_DK_BYTES + 1], ct[MLKEM768_CT_BYTES + 1];
    uint8_t ss[MLKEM768_SS_BYTES], m[32] = { 7 };

    TAP_INT_EQ(mlkem768_keygen(ek, dk), 0, "keygen");
    TAP_INT_EQ(mlkem768_encaps(ct, ss, ek, MLKEM768_EK_BYTES), 0, "encaps");
    TAP_OK(mlkem768_encaps(ct, ss, ek, MLKEM768_EK_BYTES - 1) == -1 &&
               mlkem768_encaps(ct, ss, ek, MLKEM768_EK_BYTES + 1) == -1 &&
               mlkem768_encaps(ct, ss, ek, 0) == -1 &&
               mlkem768_encaps_internal(ct, ss, ek, MLKEM768_EK_BYTES + 1, m) == -1 &&
               mlkem768_encaps(ct, ss, NULL, MLKEM768_EK_BYTES) == -1,
           "encaps rejects an ek of the wrong length (-1)");
    TAP_OK(is_zero(ct, MLKEM768_CT_BYTES) && is_zero(ss, sizeof ss),
           "a rejected encaps leaves ct and ss zeroed");

    /* the first coefficient is bytes 0 and the low nibble of 1 */
    uint8_t b0 = ek[0], b1 = ek[1];
    ek[0] = 0x00, ek[1] = (uint8_t)((b1 & 0xf0) | 0x0d); /* 3328 = 0xd00 */
    int ok3328 = mlkem768_encaps_internal(ct, ss, ek, MLKEM768_EK_BYTES, m);
    ek[0] = 0x01; /* 3329 = q */
    int bad3329 = mlkem768_encaps_internal(ct, ss, ek, MLKEM768_EK_BYTES, m);
    ek[0] = 0xff, ek[1] = (uint8_t)(b1 | 0x0f); /* 4095 */
    int bad4095 = mlkem768_encaps_internal(ct, ss, ek, MLKEM768_EK_BYTES, m);
    ek[0] = b0, ek[1] = b1;
    TAP_OK(ok3328 == 0 && bad3329 == -1 && bad4095 == -1,
           "modulus check: coefficient q - 1 accepted, q and 4095 rejected");

    TAP_INT_EQ(mlkem768_encaps(ct, ss, ek, MLKEM768_EK_BYTES), 0, "encaps again");
    TAP_OK(mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES - 1, ct, MLKEM768_CT_BYTES) == -1 &&
               mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES + 1, ct, MLKEM768_CT_BYTES) == -1 &&
               mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES - 1) == -1 &&
               mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES + 1) == -1 &&
               mlkem768_decaps(ss, NULL, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES) == -1 &&
               mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES, NULL, MLKEM768_CT_BYTES) == -1,
           "decaps rejects wrong dk and ct lengths (-1)");
    TAP_OK(is_zero(ss, sizeof ss), "a rejected decaps leaves ss zeroed");

    int rejected = 0;
    for (size_t off = DK_EK_OFF; off < DK_Z_OFF; off += 97) {
        dk[off] ^= 0x10;
        rejected += mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES) == -1;
        dk[off] ^= 0x10;
    }
    TAP_INT_EQ(rejected, (DK_Z_OFF - DK_EK_OFF + 96) / 97,
               "hash check: a changed ek or H(ek) inside dk is rejected");
    TAP_INT_EQ(mlkem768_decaps(ss, dk, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES), 0,
               "the restored dk decapsulates");
}

int main(void)
{
    test_sizes();
    test_vectors();
    test_round_trip();
    test_input_checks();
    return tap_done();
}
