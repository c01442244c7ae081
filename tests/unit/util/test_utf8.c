/* Strict UTF-8 as Rust's String::from_utf8 sees it. */
#include "../tap.h"
#include "util/utf8.h"

#define S(lit) (const unsigned char *)(lit), sizeof(lit) - 1

int main(void)
{
    TAP_INT_EQ(utf8_seq_len(S("a")), 1, "ASCII");
    TAP_INT_EQ(utf8_seq_len(S("\xc3\xa9")), 2, "U+00E9");
    TAP_INT_EQ(utf8_seq_len(S("\xe2\x82\xac")), 3, "U+20AC");
    TAP_INT_EQ(utf8_seq_len(S("\xf0\x9f\x98\x80")), 4, "U+1F600");
    TAP_INT_EQ(utf8_seq_len(S("\xf4\x8f\xbf\xbf")), 4, "U+10FFFF");
    TAP_INT_EQ(utf8_seq_len(S("\xc0\xaf")), 0, "overlong 2-byte");
    TAP_INT_EQ(utf8_seq_len(S("\xc1\xbf")), 0, "overlong 2-byte (C1)");
    TAP_INT_EQ(utf8_seq_len(S("\xe0\x9f\xbf")), 0, "overlong 3-byte");
    TAP_INT_EQ(utf8_seq_len(S("\xf0\x8f\xbf\xbf")), 0, "overlong 4-byte");
    TAP_INT_EQ(utf8_seq_len(S("\xed\xa0\x80")), 0, "surrogate U+D800");
    TAP_INT_EQ(utf8_seq_len(S("\xed\x9f\xbf")), 3, "U+D7FF just below surrogates");
    TAP_INT_EQ(utf8_seq_len(S("\xf4\x90\x80\x80")), 0, "above U+10FFFF");
    TAP_INT_EQ(utf8_seq_len(S("\xf5\x80\x80\x80")), 0, "F5 lead byte");
    TAP_INT_EQ(utf8_seq_len(S("\x80")), 0, "lone continuation byte");
    TAP_INT_EQ(utf8_seq_len(S("\xe2\x82")), 0, "cut short");
    TAP_INT_EQ(utf8_seq_len(S("\xe2\x28\xac")), 0, "bad continuation");
    TAP_OK(utf8_valid("", 0), "empty is valid");
    TAP_OK(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9), "mixed text");
    TAP_OK(!utf8_valid("ok\xff", 3), "invalid byte at the end");
    TAP_OK(!utf8_valid("\xc3", 1), "truncated sequence");
    return tap_done();
}
