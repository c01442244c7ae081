/* mlkem-ct: a constant-time check of ML-KEM-768 under valgrind memcheck.
 *
 *     make && valgrind -q --error-exitcode=1 build/mlkem-ct
 *
 * The secret inputs (d, z, m, and dk_pke and z inside dk) are marked
 * undefined with VALGRIND_MAKE_MEM_UNDEFINED; memcheck then reports every
 * branch, memory index or system call that depends on them ("Conditional
 * jump or move depends on uninitialised value(s)", "Use of uninitialised
 * value"). It includes src/tls/pq/mlkem768.c with MLKEM_CT_VALGRIND defined,
 * so that rho, public but derived from d by G, is marked defined again there;
 * the arithmetic and hashing come from librpxy.a as usual. Outside valgrind,
 * or built without <valgrind/memcheck.h>, it only runs the operations.
 * Exit status: 0 when every round trip agreed, 1 otherwise (and memcheck's
 * --error-exitcode for findings). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#define MLKEM_CT_VALGRIND 1
#endif
#endif

#include "tls/pq/mlkem768.c"

#include <stdio.h>

#ifdef MLKEM_CT_VALGRIND
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define SECRET(p, n) ((void)(p), (void)(n))
#define PUBLIC(p, n) ((void)(p), (void)(n))
#endif

#define ROUNDS 8

int main(void)
{
    static uint8_t ek[MLKEM768_EK_BYTES], dk[MLKEM768_DK_BYTES], ct[MLKEM768_CT_BYTES];
    uint8_t d[32], z[32], m[32], ss[32], ss2[32], ss3[32];
    int failures = 0;

#ifndef MLKEM_CT_VALGRIND
    fprintf(stderr, "mlkem-ct: built without <valgrind/memcheck.h>: no secret marking\n");
#endif
    for (int round = 0; round < ROUNDS; round++) {
        if (RAND_bytes(d, sizeof d) != 1 || RAND_bytes(z, sizeof z) != 1 ||
            RAND_bytes(m, sizeof m) != 1) {
            fprintf(stderr, "mlkem-ct: RAND_bytes failed\n");
            return 1;
        }

        /* KeyGen: d and z secret; ek and the ek || H(ek) part of dk public */
        SECRET(d, sizeof d);
        SECRET(z, sizeof z);
        int rc = mlkem768_keygen_internal(ek, dk, d, z);
        PUBLIC(ek, sizeof ek);
        PUBLIC(dk + DK_EK_OFF, MLKEM768_EK_BYTES + SYM_BYTES);

        /* Encaps: m secret; the ciphertext public */
        SECRET(m, sizeof m);
        rc |= mlkem768_encaps_internal(ct, ss, ek, sizeof ek, m);
        PUBLIC(ct, sizeof ct);

        /* Decaps of the real ciphertext and of a modified one (implicit
         * rejection), with dk_pke and z still secret */
        rc |= mlkem768_decaps(ss2, dk, sizeof dk, ct, sizeof ct);
        ct[round * 131 % sizeof ct] ^= 0x01;
        rc |= mlkem768_decaps(ss3, dk, sizeof dk, ct, sizeof ct);

        /* only the outcome is looked at */
        PUBLIC(ss, sizeof ss);
        PUBLIC(ss2, sizeof ss2);
        PUBLIC(ss3, sizeof ss3);
        PUBLIC(&rc, sizeof rc);
        if (rc != 0 || memcmp(ss, ss2, sizeof ss) != 0 || memcmp(ss, ss3, sizeof ss) == 0) {
            fprintf(stderr, "mlkem-ct: round %d: wrong result\n", round);
            failures++;
        }
    }
    printf("mlkem-ct: %d rounds of keygen, encaps, decaps and rejected decaps%s\n", ROUNDS,
           failures ? ": FAILED" : ", results correct");
    return failures ? 1 : 0;
}
